package storage

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/opencontainers/go-digest"
)

// Stats are the store's running totals, kept up to date as blobs and
// manifests come and go, so reading them never walks the tree.
type Stats struct {
	Blobs        int64 // files under blobs/
	BlobBytes    int64 // their total size: the bytes on disk
	Manifests    int64 // manifest revisions, summed over repositories
	Repositories int64 // repositories holding at least one manifest
	Uploads      int64 // upload sessions in progress
}

type counters struct {
	blobs, blobBytes, manifests, repos atomic.Int64
	gcSeen                             atomic.Int64 // mtime of gc.done when last counted
	recounting                         atomic.Bool
	shared                             sharedCount // replicas on one bucket: stats_shared.go
	firstMu                            sync.Mutex
	counted                            atomic.Bool // the first count is done
}

// Stats returns the current totals. They are first counted when first
// asked for, not when the store opens: the count walks the whole tree
// (minutes at 100,000 repositories), which would hold up a registry's
// start and a command that never reads them (gc, du). That first call
// waits for the count; writes made meanwhile are counted as a recount
// counts them (below). A collection run by another process (`registry
// gc`) leaves its mark in gc.done; seeing a new one, the totals are
// counted again in the background.
func (s *Store) Stats() Stats {
	ctx := context.Background()
	s.countFirst(ctx)
	if info, err := s.d.Stat(ctx, gcDoneKey); err == nil && info.ModTime.UnixNano() != s.stats.gcSeen.Load() &&
		s.stats.recounting.CompareAndSwap(false, true) {
		s.stats.gcSeen.Store(info.ModTime.UnixNano())
		go func() {
			defer s.stats.recounting.Store(false)
			s.recount(ctx)
		}()
	} else if s.othersWrote(ctx) && s.stats.recounting.CompareAndSwap(false, true) {
		go func() {
			defer s.stats.recounting.Store(false)
			s.recount(ctx)
		}()
	}
	st := Stats{Blobs: s.stats.blobs.Load(), BlobBytes: s.stats.blobBytes.Load(),
		Manifests: s.stats.manifests.Load(), Repositories: s.stats.repos.Load()}
	s.eachSession(ctx, func(e driver.Entry) error {
		st.Uploads++
		return nil
	})
	return st
}

// markGCDone tells every process serving this store to count again.
func (s *Store) markGCDone(ctx context.Context) {
	now := time.Now()
	if s.put(ctx, gcDoneKey, now.UTC().Format(time.RFC3339Nano)) != nil {
		return
	}
	if info, err := s.d.Stat(ctx, gcDoneKey); err == nil {
		s.stats.gcSeen.Store(info.ModTime.UnixNano()) // this process counted as it swept
	}
}

// countFirst makes the first count, once it succeeds: a count that
// failed (the bucket unreachable, say) is made again at the next call.
func (s *Store) countFirst(ctx context.Context) {
	if s.stats.counted.Load() {
		return
	}
	s.stats.firstMu.Lock()
	defer s.stats.firstMu.Unlock()
	if !s.stats.counted.Load() && s.recount(ctx) {
		s.stats.counted.Store(true)
	}
}

// recount replaces the totals by a fresh count and reports whether it
// could make one. Writes made while it walks are in it or not, depending
// on where the walk stood: the totals are exact again at the next count.
func (s *Store) recount(ctx context.Context) bool {
	s.stats.shared.counted(s.Generation(ctx))
	fresh := &Store{d: s.d}
	if fresh.countAll(ctx) != nil {
		return false
	}
	s.stats.blobs.Store(fresh.stats.blobs.Load())
	s.stats.blobBytes.Store(fresh.stats.blobBytes.Load())
	s.stats.manifests.Store(fresh.stats.manifests.Load())
	s.stats.repos.Store(fresh.stats.repos.Load())
	return true
}

// countAll walks the tree once: every blob, and the manifests of every
// repository (one holding at least one is counted as a repository).
func (s *Store) countAll(ctx context.Context) error {
	err := s.eachBlob(ctx, func(_ digest.Digest, info driver.Info) {
		s.stats.blobs.Add(1)
		s.stats.blobBytes.Add(info.Size)
	})
	if err != nil {
		return err
	}
	return s.walkRepos(ctx, func(name string, _ []string) error {
		n := int64(0)
		err := s.eachRevision(ctx, name, func(digest.Digest, driver.Entry) { n++ })
		if n > 0 {
			s.stats.repos.Add(1)
			s.stats.manifests.Add(n)
		}
		return err
	})
}
