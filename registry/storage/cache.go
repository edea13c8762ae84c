package storage

import (
	"sync"

	"github.com/opencontainers/go-digest"
)

// manifestCache keeps the bytes of recently read manifests. Content is
// addressed by digest, so an entry can never be stale; whether a manifest
// is still in a repository is always read from disk. Bounded in bytes,
// oldest entries leave first.
type manifestCache struct {
	mu    sync.Mutex
	max   int
	size  int
	m     map[digest.Digest][]byte
	order []digest.Digest
}

const manifestCacheBytes = 8 << 20

func (c *manifestCache) get(d digest.Digest) ([]byte, bool) {
	c.mu.Lock()
	b, ok := c.m[d]
	c.mu.Unlock()
	return b, ok
}

func (c *manifestCache) put(d digest.Digest, b []byte) {
	if len(b) > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[digest.Digest][]byte{}
	}
	if _, ok := c.m[d]; ok {
		return
	}
	for c.size+len(b) > c.max && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.size -= len(c.m[old])
		delete(c.m, old)
	}
	c.m[d] = b
	c.order = append(c.order, d)
	c.size += len(b)
}
