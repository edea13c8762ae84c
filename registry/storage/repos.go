package storage

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
)

// hasManifests reports whether the repository holds at least one manifest.
func (s *Store) hasManifests(name string) bool {
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
func (s *Store) revisions(name string) []digest.Digest {
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
func (s *Store) Repositories() ([]string, error) {
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
			if s.hasManifests(name) {
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
