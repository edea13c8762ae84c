package storage

import (
	"container/heap"
	"context"
	"errors"
	"strings"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Catalog lists, in lexical order, up to n repositories holding at least
// one manifest whose names sort after last ("" from the first); more says
// whether others follow. A store whose catalog index is whole lists the
// index (catalog_index.go); where it is not, or last is not a name, it
// lists the tree from last onwards, level by
// level with StartAfter, and stops once the page is full: a page costs
// what it holds, not what precedes it.
//
// Lexical order of names is not the order of the tree's keys ("lab/" sorts
// after "lab-x/", while the name "lab" sorts before "lab-x"). At each level
// a child c stands for two items, its name "c" and its subtree "c/", and
// items sorted as strings are the names' order. A child listed later can
// only sort before one listed earlier if it is a prefix of it followed by
// '-' or '.', so an item is emitted once no such prefix can still come.
func (s *Store) Catalog(ctx context.Context, last string, n int) (repos []string, more bool, err error) {
	if s.indexed.Load() && (last == "" || ValidName(last)) {
		return s.catalogFromIndex(ctx, last, n)
	}
	repos = []string{}
	err = s.catalogLevel(ctx, "", last, func(name string) error {
		if len(repos) == n {
			more = true
			return errPageFull
		}
		repos = append(repos, name)
		return nil
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	return repos, more, err
}

var errPageFull = errors.New("catalog page full")

// catalogLevel emits the repositories at or below the name prefix base
// ("" or ending in "/") that sort after last.
func (s *Store) catalogLevel(ctx context.Context, base, last string, emit func(string) error) error {
	opts := driver.ListOptions{}
	if rest, ok := strings.CutPrefix(last, base); ok && rest != "" {
		first, _, _ := strings.Cut(rest, "/")
		opts.StartAfter = reposPrefix + base + first // children from first on
	}
	var pending itemHeap
	flush := func(bound string, all bool) error {
		for pending.Len() > 0 && (all || pending[0] < bound) {
			item := heap.Pop(&pending).(string)
			if err := s.catalogItem(ctx, base, item, last, emit); err != nil {
				return err
			}
		}
		return nil
	}
	err := s.listLevel(ctx, base, opts, func(e driver.Entry) error {
		c := lastComponent(e.Key)
		if !e.Dir || strings.HasPrefix(c, "_") {
			return nil
		}
		heap.Push(&pending, c)
		heap.Push(&pending, c+"/")
		return flush(lowerBound(c), false)
	})
	if err != nil {
		return err
	}
	return flush("", true)
}

// catalogItem emits a name, or walks a subtree, of the level base.
func (s *Store) catalogItem(ctx context.Context, base, item, last string, emit func(string) error) error {
	if sub, ok := strings.CutSuffix(item, "/"); ok {
		prefix := base + sub + "/"
		if last >= prefix && !strings.HasPrefix(last, prefix) {
			return nil // every name below sorts before last
		}
		return s.catalogLevel(ctx, prefix, last, emit)
	}
	if name := base + item; name > last && s.catalogHasManifests(ctx, name) {
		return emit(name)
	}
	return nil
}

// lowerBound is the least item a child listed after c can have: the
// shortest prefix of c followed by '-' or '.', else c itself.
func lowerBound(c string) string {
	if i := strings.IndexAny(c, "-."); i > 0 {
		return c[:i]
	}
	return c
}

// itemHeap is a min-heap of strings.
type itemHeap []string

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h itemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *itemHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// WarmCatalog prepares, in the background of a registry that has just
// started, what catalog pages read. Where the catalog index is whole it
// reads it once (on the filesystem its sorted entries are then kept: the
// driver's dircache.go); where it is not, it builds it (BuildCatalogIndex:
// a walk of the whole tree), and returns the number of repositories the
// index then holds (-1 when it was whole already) and the error that
// stopped it.
func (s *Store) WarmCatalog(ctx context.Context) (int, error) {
	if s.indexed.Load() {
		return -1, s.d.List(ctx, catalogPrefix, driver.ListOptions{KeysOnly: true}, func(driver.Entry) error { return driver.ErrStop })
	}
	s.warmTree(ctx)
	return s.BuildCatalogIndex(ctx)
}

// warmTree reads the directories a walk of the tree would otherwise be the
// first to read whole. On the filesystem a large directory's sorted
// entries are kept (the driver's dircache.go); the first page that reads
// the 100,000 entries of one, unkept, waits some 50 ms for them, and with
// this it waits at most for the read under way. It descends from
// repositories/ through small directories (namespaces such as "lab/"), at
// most warmDirs of them, and not into large ones: those are what it is
// for, and what they hold are repositories. Other drivers list from any key
// natively: there it does nothing.
func (s *Store) warmTree(ctx context.Context) {
	if s.root == "" {
		return
	}
	queue := []string{reposPrefix}
	for read := 0; len(queue) > 0 && read < warmDirs && ctx.Err() == nil; read++ {
		var subdirs []string
		n := 0
		s.d.List(ctx, queue[0], driver.ListOptions{}, func(e driver.Entry) error {
			if n++; n >= warmFew {
				subdirs = nil // a large one: read, and kept
				return driver.ErrStop
			}
			if e.Dir && !strings.HasPrefix(lastComponent(e.Key), "_") {
				subdirs = append(subdirs, e.Key)
			}
			return nil
		})
		queue = append(queue[1:], subdirs[:min(len(subdirs), warmDirs-read-len(queue))]...)
	}
}

const (
	warmDirs = 1000 // directories WarmCatalog reads, at most
	warmFew  = 512  // entries: a directory this small costs little to read on demand
)
