package storage

import (
	"context"
	"strings"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/opencontainers/go-digest"
)

// repoDirs lists every repository directory, whether or not it still holds
// manifests (garbage collection also tidies the empty ones).
func (s *Store) repoDirs(ctx context.Context) ([]string, error) {
	var names []string
	err := s.walkRepos(ctx, func(name string, _ []string) error {
		names = append(names, name)
		return nil
	})
	return names, err
}

// eachBlob calls fn for every blob with its size and modification time.
func (s *Store) eachBlob(ctx context.Context, fn func(d digest.Digest, info driver.Info)) error {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		err := s.d.List(ctx, blobsPrefix+alg.String()+"/", driver.ListOptions{Recursive: true}, func(e driver.Entry) error {
			if d := digest.NewDigestFromEncoded(alg, lastComponent(e.Key)); ValidateDigest(d) == nil {
				fn(d, e.Info)
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
	body, mt, _, err := s.getManifest(ctx, name, d.String(), false)
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
	var out []digest.Digest
	s.d.List(ctx, referrersPrefix(name, subject), driver.ListOptions{}, func(e driver.Entry) error {
		alg, hex, ok := strings.Cut(lastComponent(e.Key), "-")
		if d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex); !e.Dir && ok && ValidateDigest(d) == nil {
			out = append(out, d)
		}
		return nil
	})
	return out
}
