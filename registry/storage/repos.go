package storage

import (
	"context"
	"sort"
	"strings"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/opencontainers/go-digest"
)

// hasManifests reports whether the repository holds at least one manifest:
// a listing stopped at the first revision link. A listing that fails
// answers yes: no caller may take a repository it could not read for empty
// (garbage collection would remove it).
//
// Nearly every revision is a sha256 one, so a link there is looked for
// first, in that one directory: on the filesystem this reads one directory
// where the whole listing reads two (each catalog page does this for every
// repository it holds). Only a link proves it — a directory found there is
// no answer — and without one the whole listing decides, as before.
func (s *Store) hasManifests(ctx context.Context, name string) bool {
	if found, err := s.hasLinkUnder(ctx, sha256Revisions(name), false); found || err != nil {
		return true
	}
	return s.anyRevision(ctx, name)
}

// anyRevision is hasManifests' whole listing: a link of any algorithm.
func (s *Store) anyRevision(ctx context.Context, name string) bool {
	found, err := s.hasLinkUnder(ctx, revisionsPrefix(name), true)
	return found || err != nil
}

// sha256Revisions is the directory of a repository's sha256 revisions.
func sha256Revisions(name string) string { return revisionsPrefix(name) + digest.SHA256.String() + "/" }

// hasLinkUnder reports whether a link (an object, not a directory) lies
// under prefix, one level down or at any depth.
func (s *Store) hasLinkUnder(ctx context.Context, prefix string, recursive bool) (bool, error) {
	found := false
	err := s.d.List(ctx, prefix, driver.ListOptions{Recursive: recursive, KeysOnly: true}, func(e driver.Entry) error {
		if e.Dir {
			return nil
		}
		found = true
		return driver.ErrStop
	})
	return found, err
}

// revisions lists the digests of the manifests stored in a repository.
func (s *Store) revisions(ctx context.Context, name string) ([]digest.Digest, error) {
	var out []digest.Digest
	err := s.eachRevision(ctx, name, func(d digest.Digest, _ driver.Entry) { out = append(out, d) })
	return out, err
}

// eachRevision calls fn for every revision link of a repository.
func (s *Store) eachRevision(ctx context.Context, name string, fn func(digest.Digest, driver.Entry)) error {
	prefix := revisionsPrefix(name)
	return s.d.List(ctx, prefix, driver.ListOptions{Recursive: true}, func(e driver.Entry) error {
		alg, hex, _ := strings.Cut(strings.TrimPrefix(e.Key, prefix), "/")
		if d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex); ValidateDigest(d) == nil {
			fn(d, e)
		}
		return nil
	})
}

// walkRepos visits, depth first, every directory under repositories/
// that is not the store's own (starting with "_"), with the names of its
// own bookkeeping directories (a repository has some).
func (s *Store) walkRepos(ctx context.Context, fn func(name string, own []string) error) error {
	var walk func(prefix string) error
	walk = func(prefix string) error {
		var subdirs, own []string
		err := s.d.List(ctx, prefix, driver.ListOptions{}, func(e driver.Entry) error {
			if !e.Dir {
				return nil
			}
			if c := lastComponent(e.Key); strings.HasPrefix(c, "_") {
				own = append(own, c)
			} else {
				subdirs = append(subdirs, e.Key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if name := strings.TrimSuffix(strings.TrimPrefix(prefix, reposPrefix), "/"); name != "" && len(own) > 0 {
			if err := fn(name, own); err != nil {
				return err
			}
		}
		for _, dir := range subdirs {
			if err := walk(dir); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(reposPrefix)
}

// Repositories lists, in lexical order, every repository that holds at
// least one manifest: one left with no manifests and no tags is not listed.
// It reads the catalog index where it is whole, the tree where not.
func (s *Store) Repositories(ctx context.Context) ([]string, error) {
	if s.indexed.Load() {
		repos, _, err := s.catalogFromIndex(ctx, "", -1)
		return repos, err
	}
	repos := []string{}
	err := s.walkRepos(ctx, func(name string, _ []string) error {
		if s.hasManifests(ctx, name) {
			repos = append(repos, name)
		}
		return nil
	})
	sort.Strings(repos)
	return repos, err
}
