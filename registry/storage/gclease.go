package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// One collection at a time, across processes and machines, on every driver.
// A collector holds the GC lease: an object gc/lease-<generation> holding
// its holder's id and an expiry. Generations only grow, and the current
// lease is the highest one:
//
//   - take: list gc/, read the highest lease (generation g); if it is
//     neither released nor expired, another collection is running
//     (ErrGCRunning). Otherwise create gc/lease-<g+1> with an exclusive
//     create (driver.PutOptions.IfNotExists: a hard link on the filesystem,
//     If-None-Match: * on S3): of collectors racing for g+1 exactly one
//     wins. The winner lists again and gives up if a higher generation
//     exists (it read a stale listing and recreated an old generation), then
//     deletes the generations below its own;
//   - renew: while the collection runs, the holder rewrites its lease with
//     a later expiry every TTL/4, and checks that no g+1 appeared;
//   - the collection deletes only while its lease has at least TTL/2 left
//     (by its own clock): a holder that cannot renew stops well before its
//     lease expires and another may take it over;
//   - release: the holder rewrites its lease as released. The highest
//     generation is never deleted, so the next collector creates g+2.
//
// On the filesystem, a disk too full to hold the lease's few bytes does not
// stop a collection (it is what frees space): it runs without the lease,
// its deletes still under the exclusive flock of gclock.go, which keeps
// even two overlapping collections from deleting what a push needs.
//
// Clocks of the machines sharing a store are assumed to agree within much
// less than TTL/2 (the default TTL is one minute; NTP keeps them within
// milliseconds). A collector that crashed leaves its lease to expire: the
// next one takes over after at most one TTL.

const (
	gcLeasePrefix = "gc/"
	gcLeaseName   = "lease-"
	// DefaultGCLeaseTTL is how long a lease lasts without renewal.
	DefaultGCLeaseTTL = time.Minute
)

// ErrGCRunning: another collection holds the GC lease. The error returned
// wraps it in a *GCRunningError that says who and until when.
var ErrGCRunning = errors.New("another collection is running")

// GCLease is the content of a lease object.
type GCLease struct {
	Generation uint64    `json:"generation"`
	Holder     string    `json:"holder"`
	Acquired   time.Time `json:"acquired"`
	Expires    time.Time `json:"expires"`
	Released   bool      `json:"released,omitempty"`
}

// GCRunningError names the collector holding the lease.
type GCRunningError struct{ Lease GCLease }

func (e *GCRunningError) Error() string {
	return fmt.Sprintf("%v: %s holds the GC lease since %s (until %s unless renewed)", ErrGCRunning,
		e.Lease.Holder, e.Lease.Acquired.UTC().Format(time.RFC3339), e.Lease.Expires.UTC().Format(time.RFC3339))
}

func (e *GCRunningError) Unwrap() error { return ErrGCRunning }

// ErrGCLeaseLost ends a collection whose lease could not be kept.
var ErrGCLeaseLost = errors.New("lost the GC lease (could not renew it in time, or another collector took it over)")

func gcLeaseKey(gen uint64) string { return fmt.Sprintf("%s%s%020d", gcLeasePrefix, gcLeaseName, gen) }

// gcHolder names this process: host, pid and a random suffix.
func gcHolder() string {
	host, _ := os.Hostname()
	var rnd [4]byte
	rand.Read(rnd[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(rnd[:]))
}

// heldLease is a lease this process holds.
type heldLease struct {
	s     *Store
	ttl   time.Duration
	mu    sync.Mutex
	lease GCLease
	lost  bool
	stop  chan struct{}
	done  chan struct{}
}

// CurrentGCLease returns the highest lease stored (nil if none) and its
// generation.
func (s *Store) CurrentGCLease(ctx context.Context) (*GCLease, error) {
	l, _, err := s.currentLease(ctx)
	return l, err
}

func (s *Store) currentLease(ctx context.Context) (*GCLease, uint64, error) {
	// The highest generation listed may be gone when it is read: a
	// collector removes a stale generation it recreated, and the holder of
	// a newer one removes the older. Then the listing is read again.
	for attempt := 0; ; attempt++ {
		l, top, err := s.readTopLease(ctx)
		if errors.Is(err, driver.ErrNotFound) && attempt < 10 {
			continue
		}
		return l, top, err
	}
}

func (s *Store) readTopLease(ctx context.Context) (*GCLease, uint64, error) {
	var top uint64
	found := false
	err := s.d.List(ctx, gcLeasePrefix, driver.ListOptions{}, func(e driver.Entry) error {
		name := strings.TrimPrefix(e.Key, gcLeasePrefix)
		if e.Dir || !strings.HasPrefix(name, gcLeaseName) {
			return nil
		}
		if gen, err := strconv.ParseUint(strings.TrimPrefix(name, gcLeaseName), 10, 64); err == nil && gen >= top {
			top, found = gen, true
		}
		return nil
	})
	if err != nil || !found {
		return nil, 0, err
	}
	b, err := s.d.GetContent(ctx, gcLeaseKey(top), 4096)
	if err != nil {
		return nil, top, fmt.Errorf("read the GC lease: %w", err)
	}
	var l GCLease
	if err := json.Unmarshal(b, &l); err != nil {
		// Unreadable (written by hand?): treat as expired, so a collector can go on.
		return &GCLease{Generation: top, Holder: "unreadable lease"}, top, nil
	}
	return &l, top, nil
}

// acquireGCLease takes the lease for holder, waiting up to wait for a
// running collection to end.
func (s *Store) acquireGCLease(ctx context.Context, holder string, ttl, wait time.Duration) (*heldLease, error) {
	deadline := time.Now().Add(wait)
	for {
		h, err := s.tryGCLease(ctx, holder, ttl)
		var running *GCRunningError
		if !errors.As(err, &running) || time.Now().After(deadline) {
			return h, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(time.Second, ttl/4)):
		}
	}
}

func (s *Store) tryGCLease(ctx context.Context, holder string, ttl time.Duration) (*heldLease, error) {
	for attempt := 0; attempt < 10; attempt++ {
		cur, gen, err := s.currentLease(ctx)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		if cur != nil && !cur.Released && now.Before(cur.Expires) {
			return nil, &GCRunningError{Lease: *cur}
		}
		l := GCLease{Generation: gen + 1, Holder: holder, Acquired: now, Expires: now.Add(ttl)}
		b, _ := json.Marshal(l)
		_, err = s.d.Put(ctx, gcLeaseKey(l.Generation), strings.NewReader(string(b)), driver.PutOptions{IfNotExists: true})
		if errors.Is(err, driver.ErrExist) {
			continue // another collector took g+1 first: read again
		}
		if err != nil {
			return nil, fmt.Errorf("take the GC lease: %w", err)
		}
		if _, top, err := s.currentLease(ctx); err != nil || top != l.Generation {
			s.d.Delete(ctx, gcLeaseKey(l.Generation)) // a stale generation recreated: not ours to hold
			if err != nil {
				return nil, err
			}
			continue
		}
		s.d.List(ctx, gcLeasePrefix, driver.ListOptions{}, func(e driver.Entry) error {
			if !e.Dir && e.Key < gcLeaseKey(l.Generation) && strings.HasPrefix(e.Key, gcLeasePrefix+gcLeaseName) {
				s.d.Delete(ctx, e.Key)
			}
			return nil
		})
		h := &heldLease{s: s, ttl: ttl, lease: l, stop: make(chan struct{}), done: make(chan struct{})}
		return h, nil
	}
	return nil, errors.New("take the GC lease: too many concurrent collectors")
}

// keep renews the lease every TTL/4 until release, and cancels the
// collection (cancel) once the lease cannot be kept.
func (h *heldLease) keep(ctx context.Context, cancel context.CancelFunc) {
	defer close(h.done)
	t := time.NewTicker(h.ttl / 4)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.renew(ctx); errors.Is(err, ErrGCLeaseLost) || err != nil && !h.valid() {
			h.mu.Lock()
			h.lost = true
			h.mu.Unlock()
			cancel()
			return
		}
	}
}

func (h *heldLease) renew(ctx context.Context) error {
	h.mu.Lock()
	l := h.lease
	h.mu.Unlock()
	if time.Now().After(l.Expires.Add(-h.ttl / 2)) {
		return ErrGCLeaseLost // too late to renew safely: another may be taking it over
	}
	l.Expires = time.Now().Add(h.ttl)
	if err := h.s.put(ctx, gcLeaseKey(l.Generation), mustJSON(l)); err != nil {
		return err
	}
	if _, err := h.s.d.Stat(ctx, gcLeaseKey(l.Generation+1)); !errors.Is(err, driver.ErrNotFound) {
		return ErrGCLeaseLost
	}
	h.mu.Lock()
	h.lease = l
	h.mu.Unlock()
	return nil
}

// valid reports whether the collection may still delete: its lease has at
// least half its TTL left and was never lost.
func (h *heldLease) valid() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.lost && time.Now().Before(h.lease.Expires.Add(-h.ttl/2))
}

func (h *heldLease) isLost() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost
}

// checkLease fails with ErrGCLeaseLost when the collection running in this
// store must stop deleting; it is called before every batch of deletes.
func (s *Store) checkLease() error {
	if h := s.lease.Load(); h != nil && !h.valid() {
		return ErrGCLeaseLost
	}
	return nil
}

// release stops renewing and marks the lease released (unless lost).
func (h *heldLease) release(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	close(h.stop)
	<-h.done
	h.mu.Lock()
	l, lost := h.lease, h.lost
	h.mu.Unlock()
	if lost {
		return
	}
	if _, err := h.s.d.Stat(ctx, gcLeaseKey(l.Generation+1)); errors.Is(err, driver.ErrNotFound) {
		l.Released = true
		l.Expires = time.Now()
		h.s.put(ctx, gcLeaseKey(l.Generation), mustJSON(l))
	}
}

// storeFull reports whether err says the disk or the quota is full.
func storeFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
