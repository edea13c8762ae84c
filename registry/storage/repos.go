package storage

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// hasManifests reports whether the repository holds at least one manifest.
func (s *Store) hasManifests(ctx context.Context, name string) bool {
	algs, err := os.ReadDir(s.revisionsDir(name))
	if err != nil {
		return false
	}
	for _, a := range algs {
		if f, err := os.Open(filepath.Join(s.revisionsDir(name), a.Name())); err == nil {
			names, _ := f.Readdirnames(1)
			f.Close()
			if len(names) > 0 {
				return true
			}
		}
	}
	return false
}

// revisions lists the digests of the manifests stored in a repository.
func (s *Store) revisions(ctx context.Context, name string) []digest.Digest {
	var out []digest.Digest
	algs, _ := os.ReadDir(s.revisionsDir(name))
	for _, a := range algs {
		files, _ := os.ReadDir(filepath.Join(s.revisionsDir(name), a.Name()))
		for _, f := range files {
			if d := digest.NewDigestFromEncoded(digest.Algorithm(a.Name()), f.Name()); ValidateDigest(d) == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// Repositories lists, in lexical order, every repository that holds at
// least one manifest: one left with no manifests and no tags is not listed.
func (s *Store) Repositories(ctx context.Context) ([]string, error) {
	repos := []string{}
	var walk func(dir, prefix string) error
	walk = func(dir, prefix string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), "_") {
				continue
			}
			name := prefix + e.Name()
			if s.hasManifests(ctx, name) {
				repos = append(repos, name)
			}
			if err := walk(filepath.Join(dir, e.Name()), name+"/"); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(s.reposDir(), ""); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	sort.Strings(repos)
	return repos, nil
}

// SharedLayers counts the layers that other repositories link too, and
// names those repositories (for the learner's log; walks the tree).
func (s *Store) SharedLayers(ctx context.Context, name string, layers []v1.Descriptor) (int, string) {
	repos, err := s.Repositories(ctx)
	if err != nil {
		return 0, ""
	}
	shared := 0
	var with []string
	seen := map[string]bool{}
	for _, l := range layers {
		found := false
		for _, other := range repos {
			if other != name && exists(s.layerLinkPath(other, l.Digest)) {
				found = true
				if !seen[other] {
					seen[other] = true
					with = append(with, other)
				}
			}
		}
		if found {
			shared++
		}
	}
	return shared, strings.Join(with, ", ")
}
