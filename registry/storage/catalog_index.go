package storage

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// The catalog index: one empty object per repository that holds a
// manifest, catalog/<entry>, in one flat directory (or prefix). A catalog
// page is then one listing of that directory from last on, the page's
// size whatever the number of repositories, and without a look at any
// repository: on a cold page cache a walk of the tree reads several
// directories per repository from the disk (at 100,000 repositories, a
// minute), where the index is a few megabytes read once.
//
// An entry's name is the repository's, with '-', '.' and '/' each shifted
// down one byte (',', '-' and '.'): "lab/app-x" is catalog/lab.app,x. The
// shift keeps the order of the names (those three are the only bytes of a
// name below '0', in that order), so the index lists in catalog order.
//
// Every store keeps the index current, whichever process it runs in: the
// first manifest of a repository makes its entry (before the manifest is
// stored, so that a crash leaves an entry too many, never one too few),
// and the removal of the last one removes it. Each change looks again at
// the repository afterwards, so that two processes changing one
// repository at once still leave the entry saying what is there.
//
// A store written by a build without the index has none: catalog.ready
// says that the index is whole. A new store is whole at once; a store
// without it is indexed by a registry that starts on it (WarmCatalog) and
// by every garbage collection, which reconciles the index with the tree.
// Until then a catalog page walks the tree.

const (
	catalogPrefix   = "catalog/"
	catalogReadyKey = "catalog.ready"
)

// catalogKey is the index entry of a repository.
func catalogKey(name string) string { return catalogPrefix + catalogEntry(name) }

func catalogEntry(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '/' {
			return r - 1
		}
		return r
	}, name)
}

// catalogName is the repository an entry stands for ("" for an object
// that is not an entry).
func catalogName(key string) string {
	entry, ok := strings.CutPrefix(key, catalogPrefix)
	if !ok {
		return ""
	}
	name := strings.Map(func(r rune) rune {
		if r == ',' || r == '-' || r == '.' {
			return r + 1
		}
		return r
	}, entry)
	if !ValidName(name) {
		return ""
	}
	return name
}

// catalogIndexed reports whether the index is whole: catalog.ready is
// there, or no repository exists yet (a new store is indexed from its
// first manifest on, which writes catalog.ready: opening a store writes
// nothing).
func (s *Store) catalogIndexed(ctx context.Context) bool {
	if s.indexed.Load() {
		return true
	}
	if _, err := s.d.Stat(ctx, catalogReadyKey); err == nil {
		s.ready.Store(true)
		s.indexed.Store(true)
		return true
	}
	empty := true
	err := s.d.List(ctx, reposPrefix, driver.ListOptions{KeysOnly: true}, func(driver.Entry) error {
		empty = false
		return driver.ErrStop
	})
	if err != nil || !empty {
		return false
	}
	s.indexed.Store(true)
	return true
}

func (s *Store) markIndexed(ctx context.Context) error {
	if _, err := s.d.Put(ctx, catalogReadyKey, bytes.NewReader(nil), driver.PutOptions{}); err != nil {
		return err
	}
	s.ready.Store(true)
	s.indexed.Store(true)
	return nil
}

// catalogFromIndex is Catalog's page, listed from the index (n < 0:
// every entry).
func (s *Store) catalogFromIndex(ctx context.Context, last string, n int) (repos []string, more bool, err error) {
	repos = []string{}
	opts := driver.ListOptions{KeysOnly: true}
	if last != "" {
		opts.StartAfter = catalogKey(last)
	}
	err = s.d.List(ctx, catalogPrefix, opts, func(e driver.Entry) error {
		name := catalogName(e.Key)
		if e.Dir || name == "" {
			return nil
		}
		if len(repos) == n {
			more = true
			return driver.ErrStop
		}
		repos = append(repos, name)
		return nil
	})
	return repos, more, err
}

// indexAdd makes the entry of a repository, unless it is there; the
// first in a store that was new when opened writes catalog.ready too.
func (s *Store) indexAdd(ctx context.Context, name string) error {
	if s.indexed.Load() && !s.ready.Load() {
		if err := s.markIndexed(ctx); err != nil {
			return err
		}
	}
	key := catalogKey(name)
	if _, err := s.d.Stat(ctx, key); !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	_, err := s.d.Put(ctx, key, bytes.NewReader(nil), driver.PutOptions{IfNotExists: true})
	if errors.Is(err, driver.ErrExist) {
		err = nil
	}
	return err
}

// indexRemove removes the entry of a repository, if it is there.
func (s *Store) indexRemove(ctx context.Context, name string) error {
	if err := s.d.Delete(ctx, catalogKey(name)); err != nil && !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	return nil
}

// indexSync makes the entry of a repository say whether it holds a
// manifest, and looks again afterwards: another process may have stored
// the first manifest, or removed the last, between the look and the
// change. A repository that does not settle within a few rounds keeps
// its entry (an entry too many is the safe side).
func (s *Store) indexSync(ctx context.Context, name string) error {
	for range 3 {
		has := s.hasManifests(ctx, name)
		var err error
		if has {
			err = s.indexAdd(ctx, name)
		} else {
			err = s.indexRemove(ctx, name)
		}
		if err != nil {
			return err
		}
		if s.hasManifests(ctx, name) == has {
			return nil
		}
	}
	return s.indexAdd(ctx, name)
}

// reconcileIndex makes the index hold exactly the repositories of want
// (those found holding a manifest), each change checked against the
// repository itself, then marks it whole. Garbage collection calls it
// with what its walk found; BuildCatalogIndex with a walk of its own.
func (s *Store) reconcileIndex(ctx context.Context, want map[string]bool) error {
	listed, _, err := s.catalogFromIndex(ctx, "", -1)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(listed))
	for _, name := range listed {
		have[name] = true
	}
	for name := range want {
		if !have[name] {
			if err := s.indexSync(ctx, name); err != nil {
				return err
			}
		}
	}
	for _, name := range listed {
		if !want[name] {
			if err := s.indexSync(ctx, name); err != nil {
				return err
			}
		}
	}
	if !s.ready.Load() {
		return s.markIndexed(ctx)
	}
	s.indexed.Store(true)
	return nil
}

// BuildCatalogIndex indexes a store that has no whole index: a walk of
// the tree, then the index made to match it. It returns the number of
// repositories indexed.
func (s *Store) BuildCatalogIndex(ctx context.Context) (int, error) {
	want := map[string]bool{}
	err := s.catalogLevel(ctx, "", "", func(name string) error {
		want[name] = true
		return ctx.Err()
	})
	if err != nil {
		return 0, err
	}
	return len(want), s.reconcileIndex(ctx, want)
}
