package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/layerlab/layerlab/registry/auth"
)

// recent remembers for a short while what clients just did — the blobs each
// committed, the upload sessions a failed mount opened — so that the
// learner's events can tell a client checking the blob it just pushed from
// a blob that was already here, and explain a cancelled session. It is only
// for the log: nothing the API answers depends on it. Memory is bounded:
// at most recentMax entries, each kept for recentTTL.
type recent struct {
	mu sync.Mutex
	m  map[string]recentEntry
}

type recentEntry struct {
	value string
	at    time.Time
}

const (
	recentMax = 4096
	recentTTL = time.Minute
)

func (c *recent) put(key, value string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]recentEntry)
	}
	if len(c.m) >= recentMax {
		for k, e := range c.m {
			if now.Sub(e.at) > recentTTL {
				delete(c.m, k)
			}
		}
		for k := range c.m { // still full: forget any half
			if len(c.m) < recentMax/2 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = recentEntry{value: value, at: now}
}

// take returns the value kept under key, if still fresh, and forgets it.
func (c *recent) take(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return "", false
	}
	delete(c.m, key)
	return e.value, time.Since(e.at) <= recentTTL
}

func (c *recent) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// clientBlobKey names a blob committed to a repository by the client at
// r's remote address.
func clientBlobKey(r *http.Request, name, d string) string {
	return "blob " + auth.ClientIP(r) + " " + name + " " + d
}
