package filesystem

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// TestSettled: a directory's listing is kept once its time is older than
// the read by more than a clock tick could hide (50 ms) where times carry
// sub-millisecond parts, and by 2 s where they may be whole seconds.
func TestSettled(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fine := func(d time.Duration) time.Time { return at.Add(-d).Add(123_456) } // sub-millisecond part
	for _, c := range []struct {
		mtime time.Time
		want  bool
	}{
		{fine(time.Second), true},
		{fine(60 * time.Millisecond), true},
		{fine(40 * time.Millisecond), false},
		{fine(-time.Second), false}, // in the future
		{at.Add(-3 * time.Second), true},
		{at.Add(-time.Second), false},
		{at.Add(-1900 * time.Millisecond), false}, // whole milliseconds: coarse
	} {
		if got := settled(c.mtime, at); got != c.want {
			t.Errorf("settled(%v before) = %v, want %v", at.Sub(c.mtime), got, c.want)
		}
	}
}

// TestLargeDirectoryReadOnce: concurrent listings of a large settled
// directory share one read, and later ones read nothing while it does not
// change; one not settled yet is read again each time.
func TestLargeDirectoryReadOnce(t *testing.T) {
	root := t.TempDir()
	d, err := New(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "big")
	for i := range dirCacheMin + 100 {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("r%04d", i), "x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	list := func() int {
		n := 0
		if err := d.List(t.Context(), "big/", driver.ListOptions{StartAfter: "big/r0300/"}, func(driver.Entry) error {
			n++
			return nil
		}); err != nil {
			t.Error(err)
		}
		return n
	}
	reads := func() int {
		d.dirs.mu.Lock()
		defer d.dirs.mu.Unlock()
		return d.dirs.reads
	}
	soon := time.Now().Add(time.Hour) // a time not settled yet, whenever the test runs
	if err := os.Chtimes(dir, soon, soon); err != nil {
		t.Fatal(err)
	}
	list()
	list()
	if n := reads(); n != 2 {
		t.Fatalf("%d reads of a directory not settled, want 2 (one a listing)", n)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if n := list(); n != dirCacheMin+100-301 {
				t.Errorf("listed %d entries, want %d", n, dirCacheMin+100-301)
			}
		})
	}
	wg.Wait()
	if n := reads(); n != 3 {
		t.Fatalf("%d reads after 8 concurrent listings of the settled directory, want 3", n)
	}
}
