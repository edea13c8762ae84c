package storage

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// A catalog page asks, for each repository on it, what lies below its
// directory (nested repositories) and whether it holds a manifest: two
// directory reads, the most of a page's cost. On a driver that stamps its
// directories (driver.Stamper: the filesystem), both answers are kept per
// repository, keyed by the stamps of the directories they were read from,
// and a later page looks at the stamps instead (two stats where reading
// cost two opens, four reads and two closes). A stamp moves with every
// entry made or removed in its directory, so what is kept is never taken
// for more than it was: a nested repository made, a manifest pushed or
// deleted, a repository removed, all move a stamp it was kept under.
//
// Kept: the children of small directories (the repositories' own, read
// whole, at most catalogChildrenMax entries), and "holds a manifest" when
// a revision link was found in revisions/sha256/ (the other answers are
// read each time). Bounded to catalogCacheMax repositories (~100 bytes
// each); past it nothing more is kept.
const (
	catalogChildrenMax = 64
	catalogCacheMax    = 250_000
)

type catalogCache struct {
	mu       sync.Mutex
	m        map[string]catalogFacts // by name: "a/b" for repositories/a/b/
	children map[string][]string     // the kept child directories, for those that have some
	hits     atomic.Int64            // answers taken from what was kept
}

// catalogFacts are the stamps what is kept of a repository was read
// under (0: nothing kept).
type catalogFacts struct {
	dirStamp int64 // of its directory: its child directories are kept
	revStamp int64 // of its revisions/sha256/: it holds a manifest
}

func (c *catalogCache) get(name string) (catalogFacts, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name], c.children[name]
}

// keep edits the facts kept of name (and the kept children), while there
// is room for them.
func (c *catalogCache) keep(name string, edit func(f *catalogFacts, children map[string][]string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[name]
	if !ok && len(c.m) >= catalogCacheMax {
		return
	}
	if c.m == nil {
		c.m, c.children = map[string]catalogFacts{}, map[string][]string{}
	}
	edit(&f, c.children)
	c.m[name] = f
}

func (c *catalogCache) forget(name string) {
	c.mu.Lock()
	delete(c.m, name)
	delete(c.children, name)
	c.mu.Unlock()
}

// listLevel lists the child directories of repositories/base ("" or
// ending in "/") from opts.StartAfter on, empty ones included, from what
// is kept when the directory's stamp stands.
func (s *Store) listLevel(ctx context.Context, base string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	opts.EmptyDirs = true // an empty directory holds no repository: the walk below it finds none
	prefix := reposPrefix + base
	st, ok := s.d.(driver.Stamper)
	if !ok || base == "" {
		return s.d.List(ctx, prefix, opts, fn)
	}
	name := strings.TrimSuffix(base, "/")
	stamp, settled, err := st.Stamp(ctx, prefix)
	if err != nil {
		s.catalog.forget(name)
		return s.d.List(ctx, prefix, opts, fn) // its own answer: nothing, or the error
	}
	if f, children := s.catalog.get(name); stamp != 0 && f.dirStamp == stamp {
		s.catalog.hits.Add(1)
		for _, k := range children {
			if k > opts.StartAfter {
				if err := fn(driver.Entry{Info: driver.Info{Key: k}, Dir: true}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var children []string
	whole := opts.StartAfter == "" && settled
	n := 0
	err = s.d.List(ctx, prefix, opts, func(e driver.Entry) error {
		if n++; n > catalogChildrenMax {
			whole = false
		}
		if whole && e.Dir && !strings.HasPrefix(lastComponent(e.Key), "_") { // the store's own: never a repository
			children = append(children, e.Key)
		}
		err := fn(e)
		if err != nil {
			whole = false // a listing cut short (a full page)
		}
		return err
	})
	if err == nil && whole {
		s.catalog.keep(name, func(f *catalogFacts, kept map[string][]string) {
			f.dirStamp = stamp
			if len(children) > 0 {
				kept[name] = children
			} else {
				delete(kept, name)
			}
		})
	}
	return err
}

// catalogHasManifests is hasManifests, answered from what is kept while
// the stamp of the repository's revisions/sha256/ stands.
func (s *Store) catalogHasManifests(ctx context.Context, name string) bool {
	st, ok := s.d.(driver.Stamper)
	if !ok {
		return s.hasManifests(ctx, name)
	}
	prefix := sha256Revisions(name)
	stamp, settled, err := st.Stamp(ctx, prefix)
	if err != nil {
		return s.hasManifests(ctx, name)
	}
	if f, _ := s.catalog.get(name); stamp != 0 && f.revStamp == stamp {
		s.catalog.hits.Add(1)
		return true
	}
	found, err := s.hasLinkUnder(ctx, prefix, false)
	if err != nil {
		return true // as hasManifests: a listing that fails is no proof of none
	}
	if !found {
		return s.anyRevision(ctx, name)
	}
	if settled {
		s.catalog.keep(name, func(f *catalogFacts, _ map[string][]string) { f.revStamp = stamp })
	}
	return true
}
