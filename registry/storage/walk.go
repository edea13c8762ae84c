package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
)

// repoDirs lists every repository directory, whether or not it still holds
// manifests (garbage collection also tidies the empty ones).
func (s *Store) repoDirs(ctx context.Context) ([]string, error) {
	var names []string
	var walk func(dir, prefix string) error
	walk = func(dir, prefix string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		isRepo := false
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if strings.HasPrefix(e.Name(), "_") {
				isRepo = true
				continue
			}
			if err := walk(filepath.Join(dir, e.Name()), prefix+e.Name()+"/"); err != nil {
				return err
			}
		}
		if isRepo {
			names = append(names, strings.TrimSuffix(prefix, "/"))
		}
		return nil
	}
	err := walk(s.reposDir(), "")
	return names, err
}

// eachBlob calls fn for every blob file with its size and modification time.
func (s *Store) eachBlob(ctx context.Context, fn func(d digest.Digest, info os.FileInfo)) error {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		root := filepath.Join(s.blobsDir(), alg.String())
		err := filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if !e.Type().IsRegular() {
				return nil
			}
			d := digest.NewDigestFromEncoded(alg, e.Name())
			if ValidateDigest(d) != nil {
				return nil
			}
			if info, err := e.Info(); err == nil {
				fn(d, info)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// references returns what a stored manifest points at: its blobs (config
// and layers, or nothing for an index), its child manifests and its subject.
func (s *Store) references(ctx context.Context, name string, d digest.Digest) (blobs, children []digest.Digest, subject digest.Digest, err error) {
	body, mt, _, err := s.GetManifest(ctx, name, d.String())
	if err != nil {
		return nil, nil, "", err
	}
	m, err := ParseManifest(mt, body)
	if err != nil {
		return nil, nil, "", err
	}
	if m.Subject != nil {
		subject = m.Subject.Digest
	}
	if m.Config != nil {
		blobs = append(blobs, m.Config.Digest)
	}
	for _, l := range m.Layers {
		if len(l.URLs) == 0 {
			blobs = append(blobs, l.Digest)
		}
	}
	for _, c := range m.Manifests {
		children = append(children, c.Digest)
	}
	return blobs, children, subject, nil
}

// referrerDigests lists the manifests recorded as referrers of subject.
func (s *Store) referrerDigests(ctx context.Context, name string, subject digest.Digest) []digest.Digest {
	entries, err := os.ReadDir(s.referrersDir(name, subject))
	if err != nil {
		return nil
	}
	var out []digest.Digest
	for _, e := range entries {
		alg, hex, ok := strings.Cut(e.Name(), "-")
		if d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex); ok && ValidateDigest(d) == nil {
			out = append(out, d)
		}
	}
	return out
}
