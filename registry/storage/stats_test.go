package storage_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// listCounter counts the listings made through a driver; while failing is
// set, they fail.
type listCounter struct {
	driver.Driver
	lists   atomic.Int64
	failing atomic.Bool
}

func (c *listCounter) List(ctx context.Context, prefix string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	c.lists.Add(1)
	if c.failing.Load() {
		return driver.ErrUnavailable
	}
	return c.Driver.List(ctx, prefix, opts, fn)
}

// TestStatsCountedWhenAsked: opening a store lists nothing (a registry of
// 100,000 repositories starts without walking them, and gc or du do not
// count what they never report); the first Stats counts the store as it is,
// writes made before it included, and a first count that failed is made
// again.
func TestStatsCountedWhenAsked(t *testing.T) {
	mem := memory.New()
	s := onDriver(t, mem)
	putImage(t, s, "lab/a", "v1", nil)
	putImage(t, s, "lab/b", "v1", nil)
	putImage(t, s, "lab/b", "v2", nil)

	d := &listCounter{Driver: mem}
	s = onDriver(t, d)
	if n := d.lists.Load(); n != 0 {
		t.Fatalf("opening the store made %d listings, want none", n)
	}
	putImage(t, s, "lab/c", "v1", nil) // before the first count
	d.failing.Store(true)              // the first count fails: the next call counts again
	s.Stats()
	d.failing.Store(false)
	st := s.Stats()
	if st.Repositories != 3 || st.Manifests != 4 || st.Blobs != 12 {
		t.Fatalf("stats %+v: want 3 repositories, 4 manifests, 12 blobs", st)
	}
	if d.lists.Load() == 0 {
		t.Fatal("the first Stats listed nothing: what did it count?")
	}
	putImage(t, s, "lab/d", "v1", nil) // counted as it is written
	if st := s.Stats(); st.Repositories != 4 || st.Manifests != 5 || st.Blobs != 15 {
		t.Fatalf("stats %+v after a push: want 4 repositories, 5 manifests, 15 blobs", st)
	}
}
