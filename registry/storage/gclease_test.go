package storage_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/filesystem"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// onEveryDriver runs fn with a constructor of drivers sharing one backing
// store (the way several processes share a root or a bucket): memory (as
// is, and without Touch, as on S3), filesystem and, when the environment
// names one, a real S3 server.
func onEveryDriver(t *testing.T, fn func(t *testing.T, newDriver func() driver.Driver)) {
	t.Run("memory", func(t *testing.T) {
		m := memory.New()
		fn(t, func() driver.Driver { return m.Share() })
	})
	t.Run("memory-dated-like-s3", func(t *testing.T) { // no Touch: an object is dated when written
		m := memory.New()
		fn(t, func() driver.Driver { return struct{ driver.Driver }{m.Share()} })
	})
	t.Run("filesystem", func(t *testing.T) {
		root := t.TempDir()
		fn(t, func() driver.Driver {
			d, err := filesystem.New(root, filesystem.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return d
		})
	})
	t.Run("s3", func(t *testing.T) { fn(t, registrytest.S3(t, "gclease")) })
}

func openOn(t *testing.T, d driver.Driver) *storage.Store {
	t.Helper()
	s, err := storage.Open("", storage.Options{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// orphanBlob stores a blob no manifest references, dated before the next
// collection starts (S3 dates objects to the second).
func orphanBlob(t *testing.T, s *storage.Store) digest.Digest {
	t.Helper()
	data := registrytest.RandomBytes(t, 512)
	d := digest.FromBytes(data)
	if _, err := s.PutBlob(t.Context(), "lab/orphan", d, int64(len(data)), strings.NewReader(string(data))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	return d
}

// blobStored reports whether the blob's bytes are in the backing store.
func blobStored(t *testing.T, d driver.Driver, dg digest.Digest) bool {
	t.Helper()
	hex := dg.Encoded()
	_, err := d.Stat(t.Context(), "blobs/sha256/"+hex[:2]+"/"+hex)
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func putLease(t *testing.T, d driver.Driver, l storage.GCLease) {
	t.Helper()
	key := fmt.Sprintf("gc/lease-%020d", l.Generation)
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(t.Context(), key, bytes.NewReader(b), driver.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestGCLeaseOneCollectorAtATime: while one store collects, a second one
// on the same backing store is told who holds the lease, or waits for it.
func TestGCLeaseOneCollectorAtATime(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, newDriver func() driver.Driver) {
		a, b := openOn(t, newDriver()), openOn(t, newDriver())
		orphan := orphanBlob(t, a)
		taken, proceed := make(chan struct{}), make(chan struct{})
		var aReleased, bTaken atomic.Int64
		storage.SetGCHook(a, func(event string) {
			switch event {
			case "lease-taken":
				close(taken)
				<-proceed
			case "lease-release":
				aReleased.Store(time.Now().UnixNano())
			}
		})
		storage.SetGCHook(b, func(event string) {
			if event == "lease-taken" {
				bTaken.Store(time.Now().UnixNano())
			}
		})
		aDone := make(chan error, 1)
		go func() {
			_, err := a.GC(t.Context(), storage.GCOptions{Holder: "collector-a"})
			aDone <- err
		}()
		<-taken
		_, err := b.GC(t.Context(), storage.GCOptions{Holder: "collector-b"})
		var running *storage.GCRunningError
		if !errors.As(err, &running) || !errors.Is(err, storage.ErrGCRunning) || running.Lease.Holder != "collector-a" {
			t.Fatalf("second collection while the first runs: %v; want ErrGCRunning naming collector-a", err)
		}
		if !strings.Contains(err.Error(), "another collection is running") {
			t.Errorf("error does not say so plainly: %v", err)
		}
		if _, err := b.GC(t.Context(), storage.GCOptions{DryRun: true}); err != nil {
			t.Errorf("a dry run needs no lease: %v", err)
		}
		bDone := make(chan error, 1)
		go func() {
			_, err := b.GC(t.Context(), storage.GCOptions{Holder: "collector-b", Wait: 30 * time.Second})
			bDone <- err
		}()
		time.Sleep(300 * time.Millisecond)
		if bTaken.Load() != 0 {
			t.Fatal("a waiting collector took the lease while the first one held it")
		}
		close(proceed)
		if err := <-aDone; err != nil {
			t.Fatal(err)
		}
		if err := <-bDone; err != nil {
			t.Fatalf("the waiting collector: %v", err)
		}
		if bTaken.Load() < aReleased.Load() {
			t.Error("the second collection started before the first released the lease")
		}
		if blobStored(t, newDriver(), orphan) {
			t.Error("the collection holding the lease did not sweep the unreferenced blob")
		}
		l, err := b.CurrentGCLease(t.Context())
		if err != nil || l == nil || l.Holder != "collector-b" || !l.Released || l.Generation != 2 {
			t.Fatalf("lease after both: %+v, %v; want generation 2, released by collector-b", l, err)
		}
	})
}

// TestGCLeaseConcurrentCollectors: collectors on four stores sharing one
// backing store, each collecting in a loop, are never inside a collection
// at the same time.
func TestGCLeaseConcurrentCollectors(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, newDriver func() driver.Driver) {
		const stores, rounds = 4, 4
		var active, most, runs atomic.Int32
		var wg sync.WaitGroup
		errs := make([]error, stores)
		for i := range stores {
			s := openOn(t, newDriver())
			storage.SetGCHook(s, func(event string) {
				switch event {
				case "lease-taken":
					n := active.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(20 * time.Millisecond)
				case "lease-release":
					active.Add(-1)
				}
			})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					if _, err := s.GC(t.Context(), storage.GCOptions{Holder: fmt.Sprint("c", i), Wait: time.Minute, LeaseTTL: 4 * time.Second}); err != nil {
						errs[i] = err
						return
					}
					runs.Add(1)
				}
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("collector %d: %v", i, err)
			}
		}
		if most.Load() != 1 || runs.Load() != stores*rounds {
			t.Fatalf("%d collections ran, at most %d at once; want %d, one at a time", runs.Load(), most.Load(), stores*rounds)
		}
	})
}

// TestGCLeaseExpiredIsTakenOver: a lease its holder left behind (crashed)
// is taken over once expired, not before; older generations are removed.
func TestGCLeaseExpiredIsTakenOver(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, newDriver func() driver.Driver) {
		d := newDriver()
		s := openOn(t, d)
		now := time.Now()
		putLease(t, d, storage.GCLease{Generation: 6, Holder: "old", Acquired: now.Add(-time.Hour), Expires: now.Add(-time.Hour), Released: true})
		putLease(t, d, storage.GCLease{Generation: 7, Holder: "crashed", Acquired: now.Add(-time.Hour), Expires: now.Add(-time.Minute)})
		if _, err := s.GC(t.Context(), storage.GCOptions{Holder: "me"}); err != nil {
			t.Fatalf("collection over an expired lease: %v", err)
		}
		l, err := s.CurrentGCLease(t.Context())
		if err != nil || l.Generation != 8 || l.Holder != "me" || !l.Released {
			t.Fatalf("lease: %+v, %v; want generation 8 released by me", l, err)
		}
		for _, gen := range []int{6, 7} {
			if _, err := d.Stat(t.Context(), fmt.Sprintf("gc/lease-%020d", gen)); !errors.Is(err, driver.ErrNotFound) {
				t.Errorf("generation %d left behind: %v", gen, err)
			}
		}
		until := time.Now().Add(1500 * time.Millisecond)
		putLease(t, d, storage.GCLease{Generation: 9, Holder: "alive", Acquired: time.Now(), Expires: until})
		_, err = s.GC(t.Context(), storage.GCOptions{Holder: "me"})
		var running *storage.GCRunningError
		if !errors.As(err, &running) || running.Lease.Holder != "alive" {
			t.Fatalf("collection over a live lease: %v; want ErrGCRunning naming alive", err)
		}
		if _, err := s.GC(t.Context(), storage.GCOptions{Holder: "me", Wait: 30 * time.Second}); err != nil {
			t.Fatalf("waiting for the live lease to expire: %v", err)
		}
		if time.Now().Before(until) {
			t.Error("a live lease was taken over before it expired")
		}
		if l, _ := s.CurrentGCLease(t.Context()); l == nil || l.Generation != 10 || l.Holder != "me" {
			t.Fatalf("lease after the takeover: %+v", l)
		}
	})
}

// TestGCLeaseLostStopsDeleting: a collector whose lease was taken over
// (it could not renew in time, say) stops before deleting anything.
func TestGCLeaseLostStopsDeleting(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, newDriver func() driver.Driver) {
		d := newDriver()
		s := openOn(t, d)
		orphan := orphanBlob(t, s)
		storage.SetGCHook(s, func(event string) {
			if event != "lease-taken" {
				return
			}
			l, err := s.CurrentGCLease(t.Context())
			if err != nil || l == nil {
				t.Errorf("no lease while collecting: %v", err)
				return
			}
			putLease(t, d, storage.GCLease{Generation: l.Generation + 1, Holder: "usurper", Acquired: time.Now(), Expires: time.Now().Add(time.Minute)})
			time.Sleep(600 * time.Millisecond) // a renewal (every TTL/4) sees the next generation
		})
		_, err := s.GC(t.Context(), storage.GCOptions{Holder: "me", LeaseTTL: time.Second})
		if !errors.Is(err, storage.ErrGCLeaseLost) {
			t.Fatalf("collection whose lease was taken over: %v; want ErrGCLeaseLost", err)
		}
		if !blobStored(t, d, orphan) {
			t.Error("a collection that lost its lease deleted a blob")
		}
		if l, _ := s.CurrentGCLease(t.Context()); l == nil || l.Holder != "usurper" || l.Released {
			t.Errorf("the new holder's lease was touched: %+v", l)
		}
	})
}
