package storage

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"os"
	"sync"

	"github.com/opencontainers/go-digest"
)

// Options tune a Store.
type Options struct {
	// NoSync skips fsync (tests and benchmarks on throwaway data only).
	NoSync bool
	// WriteFault, when set, is asked before every write to a file of the
	// store; the error it returns fails that write. Tests use it to inject
	// ENOSPC or EIO where they cannot fill a real filesystem.
	WriteFault func() error
}

// Store is the content-addressable filesystem store rooted at one directory.
type Store struct {
	root  string
	fsync bool
	fault func() error

	mu        sync.Mutex
	uploads   map[string]*uploadState // open upload sessions with their running hash
	repoLocks keyedMutex              // serialises manifest and tag changes per repository
	stats     counters
	manifests manifestCache
	gcHook    func(event string) // tests: where a collection stands
	dirSynced func(dir string)   // tests: which directories were synced
}

// Open prepares the tree under root and returns a Store.
func Open(root string, opts Options) (*Store, error) {
	if root == "" {
		return nil, errors.New("storage root is empty")
	}
	s := &Store{root: root, fsync: !opts.NoSync, fault: opts.WriteFault, uploads: map[string]*uploadState{},
		manifests: manifestCache{max: manifestCacheBytes}}
	for _, dir := range []string{s.blobsDir(), s.reposDir(), s.uploadsDir(), s.tmpDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("prepare storage root: %w", err)
		}
	}
	if err := s.countAll(context.Background()); err != nil {
		return nil, fmt.Errorf("count stored objects: %w", err)
	}
	if st, err := os.Stat(s.gcDonePath()); err == nil {
		s.stats.gcSeen.Store(st.ModTime().UnixNano())
	}
	return s, nil
}

// Root is the directory the store lives in.
func (s *Store) Root() string { return s.root }

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
