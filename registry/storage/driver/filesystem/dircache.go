package filesystem

import (
	"os"
	"sort"
	"sync"
	"time"
)

// A listing from StartAfter on must first read its whole directory:
// entries come in hash order, not key order. For a large directory (the
// repositories of a registry with 100,000 of them) reading and sorting it
// costs more than the page asked for, so the sorted names of large
// directories are kept, keyed by the directory's modification time, which
// every entry created, renamed or removed in it moves.
//
// A modification time has a granularity (a clock tick): a change in the
// same tick as the listing would leave it unmoved. So a listing is kept
// only when the directory had not changed for racyWindow before it was
// read; one changed more recently is read afresh on every call until it
// settles. Only one-level listings (the repositories' directories, read
// by catalog pages and repository walks) fill the cache; recursive ones
// (the blobs, read whole by du and gc) would only make it hold them all.

const (
	dirCacheMin     = 512     // entries: smaller directories are read each time
	dirCacheEntries = 500_000 // entries kept across all directories, at most (~40 MiB)
	racyWindow      = 2 * time.Second
)

type dirItem struct {
	key     string // the entry's key (a directory's ends in "/")
	dir     bool
	regular bool
}

type dirListing struct {
	mtime time.Time
	items []dirItem
}

type dirCache struct {
	mu      sync.Mutex
	m       map[string]*dirListing
	order   []string // oldest first
	entries int
}

// sortedDir returns the entries of the directory at path (key prefix
// prefix) in key order, from the cache when the directory is unchanged.
// Only a one-level listing (keep) adds to the cache.
func (d *Driver) sortedDir(path, prefix string, keep bool) ([]dirItem, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	c := &d.dirs
	c.mu.Lock()
	if l := c.m[path]; l != nil && l.mtime.Equal(fi.ModTime()) {
		c.mu.Unlock()
		return l.items, nil
	}
	c.mu.Unlock()
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	items := make([]dirItem, 0, len(entries))
	for _, e := range entries {
		if prefix == "" && e.Name() == tmpDir {
			continue
		}
		it := dirItem{key: prefix + e.Name(), dir: e.IsDir(), regular: e.Type().IsRegular()}
		if it.dir {
			it.key += "/"
		} else if !it.regular {
			continue
		}
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	if keep && len(items) >= dirCacheMin && time.Since(fi.ModTime()) > racyWindow {
		c.put(path, &dirListing{mtime: fi.ModTime(), items: items})
	}
	return items, nil
}

func (c *dirCache) put(path string, l *dirListing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*dirListing{}
	}
	if old := c.m[path]; old != nil {
		c.entries -= len(old.items)
	} else {
		c.order = append(c.order, path)
	}
	c.m[path] = l
	c.entries += len(l.items)
	for c.entries > dirCacheEntries && len(c.order) > 1 {
		oldest := c.order[0]
		c.order = c.order[1:]
		if o := c.m[oldest]; o != nil {
			c.entries -= len(o.items)
			delete(c.m, oldest)
		}
	}
}
