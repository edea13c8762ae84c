package index

import (
	"context"
	"sync"
	"time"

	"github.com/layerlab/layerlab/registry/storage"
)

// MaxAge bounds how long a snapshot is trusted even when the store's
// generation has not moved (a generation lost to a crash, say).
const MaxAge = 10 * time.Minute

// Cache keeps the latest snapshot of a store and builds a new one, lazily,
// when the store's generation has moved since. The generation lives in the
// store, so every process serving the same root — several replicas on one
// bucket — sees every other's writes: a request never gets a snapshot
// older than the last write that completed before it.
type Cache struct {
	store  *storage.Store
	mu     sync.Mutex // held while building: concurrent requests share one build
	snap   *Snapshot
	builds int
}

// NewCache returns an empty cache over a store; the first Get builds.
func NewCache(s *storage.Store) *Cache { return &Cache{store: s} }

// Get returns a snapshot as fresh as the store's current generation.
func (c *Cache) Get(ctx context.Context) (*Snapshot, error) {
	gen := c.store.Generation(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != nil && c.snap.Generation == gen && time.Since(c.snap.Built) < MaxAge {
		return c.snap, nil
	}
	snap, err := Build(ctx, c.store) // reads the generation again before it reads the store
	if err != nil {
		return nil, err
	}
	c.snap = snap
	c.builds++
	return snap, nil
}

// Builds counts the snapshots built so far.
func (c *Cache) Builds() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.builds
}
