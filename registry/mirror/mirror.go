// Package mirror is the pull-through cache: for repositories under a
// mirrored prefix it stands in front of the store and fills it from an
// upstream registry. Manifests by tag are checked upstream once their TTL
// has passed, by digest they are served from the store forever; blobs are
// streamed to the first client while they are written into the store
// (through an ordinary upload session, verified before they become
// visible), and concurrent pulls of one blob fetch it once. When the
// upstream is down, what the store holds is served. What the mirror caches
// is ordinary content: du, the query API, SQL and GC see it.
package mirror

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/singleflight"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/storage"
)

// Mirror maps repository prefixes to upstreams.
type Mirror struct {
	store     *storage.Store
	log       *logrus.Logger
	upstreams []*upstream // longest prefix first; nil entries are local prefixes
	prefixes  []string    // the prefix of each entry

	manifests singleflight.Group // by repository and reference
	fillsMu   sync.Mutex
	fills     map[string]*fill // blob fills in progress, by digest
	running   sync.WaitGroup   // the fills' goroutines, for Wait
	stats     counters
	now       func() time.Time
}

// Route is where a mirrored repository comes from.
type Route struct {
	up   *upstream
	Name string // the repository here: hub/library/alpine
	Repo string // the repository upstream: library/alpine
}

// Upstream is the upstream's URL.
func (r *Route) Upstream() string { return r.up.URL }

// Prefix is the mirrored prefix the repository is under.
func (r *Route) Prefix() string { return r.up.Prefix }

// New builds the mirror of the configuration; nil when nothing is mirrored.
func New(cfg config.Mirror, store *storage.Store, log *logrus.Logger) (*Mirror, error) {
	ups, err := cfg.Upstreams()
	if err != nil || len(ups) == 0 {
		return nil, err
	}
	creds, err := readCredentials(cfg.Credentials)
	if err != nil {
		return nil, err
	}
	m := &Mirror{store: store, log: log, fills: map[string]*fill{}, now: time.Now}
	for _, c := range ups {
		m.prefixes = append(m.prefixes, c.Prefix)
		if c.Local {
			m.upstreams = append(m.upstreams, nil)
			continue
		}
		up, err := newUpstream(c, creds)
		if err != nil {
			return nil, err
		}
		m.upstreams = append(m.upstreams, up)
	}
	return m, nil
}

// For returns the route of a repository under a mirrored prefix, or nil.
func (m *Mirror) For(name string) *Route {
	if m == nil {
		return nil
	}
	for i, p := range m.prefixes {
		if !storage.UnderPrefix(name, p) {
			continue
		}
		up := m.upstreams[i]
		if up == nil {
			return nil
		}
		repo := strings.TrimPrefix(name, p)
		if repo == "" {
			return nil // the prefix itself names no upstream repository
		}
		if isDockerHub(up.host) && !strings.Contains(repo, "/") {
			repo = "library/" + repo // Docker Hub's official images
		}
		return &Route{up: up, Name: name, Repo: repo}
	}
	return nil
}

// Mirrored reports whether a repository is under a mirrored prefix.
func (m *Mirror) Mirrored(name string) bool { return m.For(name) != nil }

func isDockerHub(host string) bool {
	switch host {
	case "registry-1.docker.io", "docker.io", "index.docker.io":
		return true
	}
	return false
}

// Wait waits until no fill is running (or ctx ends): a server stopping
// lets the blobs it is fetching reach the store rather than cutting them
// off, and a test's store is still when it is removed.
func (m *Mirror) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		m.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Describe lists the mirrored prefixes for the start-up line.
func (m *Mirror) Describe() string {
	var parts []string
	for i, p := range m.prefixes {
		shown := p
		if shown == "" {
			shown = "(every other repository)"
		}
		if up := m.upstreams[i]; up != nil {
			parts = append(parts, shown+" ← "+up.URL)
		} else {
			parts = append(parts, shown+" local")
		}
	}
	return strings.Join(parts, ", ")
}

// Evict deletes the cached manifests not pulled for maxAge; garbage
// collection then frees the blobs nothing else references.
func (m *Mirror) Evict(ctx context.Context, maxAge time.Duration) ([]storage.Evicted, error) {
	return m.store.EvictIdle(ctx, m.Mirrored, m.now().Add(-maxAge))
}

// Stats are the mirror's counters since start.
type Stats struct {
	Hits, Misses, Stale, UpstreamErrors, UpstreamBytes, Fetches int64
}

type counters struct {
	hits, misses, stale, upstreamErrors, upstreamBytes, fetches atomic.Int64
}

// Stats returns the counters: cache hits and misses (manifests and blobs),
// stale tags served with the upstream down, upstream failures, bytes and
// blob fetches from upstreams.
func (m *Mirror) Stats() Stats {
	c := &m.stats
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stale: c.stale.Load(),
		UpstreamErrors: c.upstreamErrors.Load(), UpstreamBytes: c.upstreamBytes.Load(), Fetches: c.fetches.Load()}
}
