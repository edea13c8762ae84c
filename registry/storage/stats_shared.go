package storage

import (
	"context"
	"sync"
	"time"
)

// The running totals (stats.go) count what this process writes. Replicas
// sharing one bucket write too, and their writes would be missing from
// this process's totals forever. Each write, by any process, changes the
// store's generation (inventory.go): a generation other than the one read
// before the last count means the bucket changed since, and the totals
// are counted again, in the background and at most once per Recount (a
// walk of the bucket costs requests; this process's own writes, counted
// exactly as they happen, cause such a count too, which is simpler than
// telling them apart and changes nothing). The totals of every replica so agree within
// Recount of the last write. A filesystem store is served by one process
// (`registry gc` beside it leaves gc.done, which is watched already), so
// there the generation is not watched.

// DefaultRecount is how often, at most, the totals are counted again
// when other processes write to the bucket.
const DefaultRecount = 30 * time.Second

type sharedCount struct {
	every time.Duration
	mu    sync.Mutex
	seen  string    // the generation read just before the last count
	at    time.Time // when the last count started
}

// counted notes that a count starts at generation gen.
func (c *sharedCount) counted(gen string) {
	c.mu.Lock()
	c.seen, c.at = gen, time.Now()
	c.mu.Unlock()
}

// othersWrote reports whether the bucket changed since the last count and a count is due; if so it notes the count as started.
func (s *Store) othersWrote(ctx context.Context) bool {
	if s.root != "" {
		return false
	}
	c := &s.stats.shared
	c.mu.Lock()
	due := time.Since(c.at) >= c.every
	c.mu.Unlock()
	if !due {
		return false
	}
	gen := s.Generation(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == "" || gen == c.seen {
		return false
	}
	c.seen, c.at = gen, time.Now()
	return true
}
