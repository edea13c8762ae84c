package storage_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// countingDriver counts the listings of repositories/ (every walk of the
// store makes some) and can hold them back until released.
type countingDriver struct {
	driver.Driver
	lists atomic.Int64
	mu    sync.Mutex
	gate  chan struct{} // while not nil, listings of repositories/ wait for it to close
}

func (d *countingDriver) List(ctx context.Context, prefix string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	if strings.HasPrefix(prefix, "repositories/") {
		d.lists.Add(1)
		d.mu.Lock()
		gate := d.gate
		d.mu.Unlock()
		if gate != nil {
			<-gate
		}
	}
	return d.Driver.List(ctx, prefix, opts, fn)
}

func (d *countingDriver) hold() (release func()) {
	gate := make(chan struct{})
	d.mu.Lock()
	d.gate = gate
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		d.gate = nil
		d.mu.Unlock()
		close(gate)
	}
}

func usageOf(t *testing.T, c *storage.UsageCache) (*storage.UsageReport, bool) {
	t.Helper()
	r, stale, err := c.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r, stale
}

func repoNames(r *storage.UsageReport) string {
	var names []string
	for _, ru := range r.Repositories {
		names = append(names, ru.Name)
	}
	return strings.Join(names, ",")
}

// newUsageCache is a usage cache waiting up to wait for its walks, over a
// store on a counting memory driver that holds lab/a:v1.
func newUsageCache(t *testing.T, wait time.Duration) (*countingDriver, *storage.Store, *storage.UsageCache) {
	d := &countingDriver{Driver: memory.New()}
	s, err := storage.Open("", storage.Options{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	putImage(t, s, "lab/a", "v1", nil)
	c := storage.NewUsageCache(s)
	c.Wait = wait
	return d, s, c
}

// TestUsageCacheWalksOncePerChange: requests on an unchanged store are
// answered from the report without listing anything; a push or a delete
// makes the next answer current (a small store's walk ends within Wait).
func TestUsageCacheWalksOncePerChange(t *testing.T) {
	d, s, c := newUsageCache(t, time.Minute)
	r, stale := usageOf(t, c)
	if stale || repoNames(r) != "lab/a" || r.Generation == "" || r.AsOf.IsZero() {
		t.Fatalf("first report: %s stale %v generation %q as of %v", repoNames(r), stale, r.Generation, r.AsOf)
	}
	lists := d.lists.Load()
	for i := 0; i < 20; i++ {
		if r2, stale := usageOf(t, c); r2 != r || stale {
			t.Fatalf("request %d on an unchanged store: a new report (or stale)", i)
		}
	}
	if got := d.lists.Load(); got != lists || c.Walks() != 1 {
		t.Fatalf("20 requests on an unchanged store: %d listings of repositories/ and %d walks; want none and 1", got-lists, c.Walks())
	}

	b := putImage(t, s, "lab/b", "v1", nil)
	r, stale = usageOf(t, c)
	if stale || repoNames(r) != "lab/a,lab/b" || c.Walks() != 2 {
		t.Fatalf("after a push: %s stale %v, %d walks; want lab/a,lab/b, current, 2 walks", repoNames(r), stale, c.Walks())
	}
	if err := s.DeleteManifest(t.Context(), "lab/b", b.d); err != nil {
		t.Fatal(err)
	}
	r, _ = usageOf(t, c)
	if r.Repositories[1].Manifests != 0 || r.Repositories[1].LogicalBytes != 0 {
		t.Fatalf("after the delete, lab/b still counts %+v", r.Repositories[1])
	}
}

// TestUsageCacheStaleWhileWalking: when the walk takes longer than Wait,
// the request gets the last report marked stale, one walk serves every
// request meanwhile, and once it ends the answer is current again.
func TestUsageCacheStaleWhileWalking(t *testing.T) {
	d, s, c := newUsageCache(t, 20*time.Millisecond)
	first, _ := usageOf(t, c)

	putImage(t, s, "lab/b", "v1", nil)
	release := d.hold()
	for i := 0; i < 5; i++ {
		r, stale := usageOf(t, c)
		if r != first || !stale {
			t.Fatalf("request %d during a held walk: stale %v, repositories %s; want the first report, stale", i, stale, repoNames(r))
		}
	}
	if c.Walks() != 2 {
		t.Fatalf("5 requests during one walk began %d walks in all, want 2", c.Walks())
	}
	release()
	c.Wait = time.Minute
	r, stale := usageOf(t, c) // waits for the walk begun after the push
	if stale || repoNames(r) != "lab/a,lab/b" || !r.AsOf.After(first.AsOf) {
		t.Fatalf("after the walk: %s stale %v; want lab/a,lab/b, current", repoNames(r), stale)
	}
}
