package filesystem

import (
	"os"
	"slices"
	"strings"
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
// A modification time has a granularity: a change in the same tick as
// the listing would leave it unmoved. So a listing is kept only when the
// directory had not changed for a while (settled) before it was read; one
// changed more recently is read afresh on every call until it settles.
// Only a directory already kept is looked at (stat) before it is read: the
// small ones, a repository's own, cost no more than their read, and a
// large one is looked at after it was read, its modification time then
// older than the read's start if nothing changed since. Only one-level
// listings (the repositories' directories, read by catalog pages and
// repository walks) fill the cache; recursive ones (the blobs, read whole
// by du and gc) would only make it hold them all.
//
// Concurrent one-level listings of one directory wait for the read under
// way, then take what it kept: the first catalog page of a registry that
// has just started waits for the read its warm-up began (storage's
// WarmCatalog), instead of reading 100,000 entries beside it.

const (
	dirCacheMin     = 512     // entries: smaller directories are read each time
	dirCacheEntries = 500_000 // entries kept across all directories, at most (~40 MiB)
	// A time with a sub-millisecond part comes from a filesystem that
	// keeps nanoseconds and a kernel clock that ticks every 10 ms at most
	// (HZ >= 100); other times may be whole seconds (ext3's 128-byte
	// inodes) or even ones (FAT).
	fineWindow   = 50 * time.Millisecond
	coarseWindow = 2 * time.Second
)

// settled reports whether a directory whose modification time is mtime
// could not have changed, unseen, after the moment at: its time would
// have moved past mtime.
func settled(mtime, at time.Time) bool {
	window := coarseWindow
	if mtime.Nanosecond()%int(time.Millisecond) != 0 {
		window = fineWindow
	}
	return mtime.Before(at.Add(-window))
}

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
	reading map[string]chan struct{} // one-level reads under way, closed when done
	reads   int                      // one-level reads made
}

// sortedDir returns the entries of the directory at path (key prefix
// prefix) in key order, from the cache when the directory is unchanged.
// Only a one-level listing (keep) adds to the cache.
func (d *Driver) sortedDir(path, prefix string, keep bool) ([]dirItem, error) {
	c := &d.dirs
	for {
		c.mu.Lock()
		l := c.m[path]
		c.mu.Unlock()
		if l != nil {
			fi, err := os.Stat(path)
			if err != nil {
				return nil, err
			}
			if l.mtime.Equal(fi.ModTime()) {
				return l.items, nil
			}
		}
		if !keep || c.startRead(path) {
			break
		}
	}
	defer c.done(path, keep)
	start := time.Now()
	items, err := readSorted(path, prefix)
	if err != nil {
		return nil, err
	}
	if keep && len(items) >= dirCacheMin {
		// A change since the read started moved the time past start.
		if fi, err := os.Stat(path); err == nil && settled(fi.ModTime(), start) {
			c.put(path, &dirListing{mtime: fi.ModTime(), items: items})
		}
	}
	return items, nil
}

// startRead registers a one-level read of path and reports true, or,
// when another is under way, waits for it to end and reports false: the
// caller looks at what it kept, then tries again.
func (c *dirCache) startRead(path string) bool {
	c.mu.Lock()
	busy := c.reading[path]
	if busy == nil {
		if c.reading == nil {
			c.reading = map[string]chan struct{}{}
		}
		c.reading[path] = make(chan struct{})
		c.reads++
	}
	c.mu.Unlock()
	if busy == nil {
		return true
	}
	<-busy
	return false
}

// done ends this call's read of path (mine: it had registered one).
func (c *dirCache) done(path string, mine bool) {
	if !mine {
		return
	}
	c.mu.Lock()
	close(c.reading[path])
	delete(c.reading, path)
	c.mu.Unlock()
}

// readSorted reads the directory at path (key prefix prefix): its
// directories and regular files, in key order.
func readSorted(path, prefix string) ([]dirItem, error) {
	var items []dirItem
	err := readDir(path, func(name string, dir, regular bool) bool {
		switch {
		case prefix == "" && name == tmpDir:
		case dir:
			items = append(items, dirItem{key: prefix + name + "/", dir: true})
		case regular:
			items = append(items, dirItem{key: prefix + name, regular: true})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(items, func(a, b dirItem) int { return strings.Compare(a.key, b.key) })
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
