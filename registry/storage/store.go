package storage

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/filesystem"
)

// Options tune a Store.
type Options struct {
	// Driver is where the bytes live; nil means the filesystem driver at
	// the root given to Open, with NoSync and WriteFault below.
	Driver driver.Driver
	// NoSync skips fsync (tests and benchmarks on throwaway data only).
	NoSync bool
	// WriteFault, when set, is asked before every write to a file of the
	// store; the error it returns fails that write. Tests use it to inject
	// ENOSPC or EIO where they cannot fill a real filesystem.
	WriteFault func() error
	// Recount bounds how often the running totals are counted again when
	// other processes write to the same bucket (0: DefaultRecount).
	Recount time.Duration
}

// Store is the registry's content-addressable store over one driver.
type Store struct {
	d    driver.Driver
	root string // the filesystem driver's directory ("" on other drivers)

	mu        sync.Mutex
	uploads   map[string]*uploadState // upload sessions open in this process
	repoLocks keyedMutex              // serialises manifest and tag changes per repository
	gcMu      sync.RWMutex            // the GC lock where no lock file can be shared
	stats     counters
	manifests manifestCache
	catalog   catalogCache              // what catalog pages read, per repository (catalog_cache.go)
	gcHook    func(event string)        // tests: where a collection stands
	lease     atomic.Pointer[heldLease] // the GC lease while this store collects
	indexed   atomic.Bool               // the catalog index is whole (catalog_index.go)
	ready     atomic.Bool               // ... and catalog.ready says so
}

// Open returns a Store on opts.Driver, or on the filesystem driver rooted
// at root (a tree written before the driver boundary opens unchanged).
func Open(root string, opts Options) (*Store, error) {
	d := opts.Driver
	if d == nil {
		if root == "" {
			return nil, errors.New("storage root is empty")
		}
		fsd, err := filesystem.New(root, filesystem.Options{NoSync: opts.NoSync, WriteFault: opts.WriteFault})
		if err != nil {
			return nil, fmt.Errorf("prepare storage root: %w", err)
		}
		d = fsd
	}
	s := &Store{d: d, uploads: map[string]*uploadState{}, manifests: manifestCache{max: manifestCacheBytes}}
	s.stats.shared.every = cmp.Or(opts.Recount, DefaultRecount)
	if fsd, ok := d.(*filesystem.Driver); ok {
		s.root = fsd.Root()
	}
	ctx := context.Background()
	if info, err := s.d.Stat(ctx, gcDoneKey); err == nil {
		s.stats.gcSeen.Store(info.ModTime.UnixNano())
	}
	s.catalogIndexed(ctx)
	return s, nil
}

// Root is the directory the store lives in ("" when not on a filesystem).
func (s *Store) Root() string { return s.root }

// Driver is the driver the store keeps its bytes in.
func (s *Store) Driver() driver.Driver { return s.d }

// Supported reports whether the registry stores digests of this algorithm.
func Supported(a digest.Algorithm) bool {
	return a == digest.SHA256 || a == digest.SHA512
}

// newHash returns a hash for a supported algorithm. Calling the standard
// library directly keeps go-digest's registration out of the hot path.
func newHash(a digest.Algorithm) hash.Hash {
	if a == digest.SHA512 {
		return sha512.New()
	}
	return sha256.New()
}

// notFound turns the driver's ErrNotFound into the store's sentinel for
// what was looked up, wrapped with what; other errors pass unchanged.
func notFound(err error, sentinel error, what string) error {
	if errors.Is(err, driver.ErrNotFound) {
		return fmt.Errorf("%s: %w", what, sentinel)
	}
	return err
}

// keyedMutex hands out one mutex per key, created on demand.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.Lock()
	return func() {
		e.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
