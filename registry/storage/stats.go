package storage

import (
	"context"
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
}

// Stats returns the current totals. A collection run by another process
// (`registry gc`) leaves its mark in gc.done; seeing a new one, the totals
// are counted again in the background.
func (s *Store) Stats() Stats {
	ctx := context.Background()
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
	s.d.List(ctx, uploadsPrefix, driver.ListOptions{}, func(e driver.Entry) error {
		if e.Dir {
			st.Uploads++
		}
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

// recount replaces the totals by a fresh count.
func (s *Store) recount(ctx context.Context) {
	fresh := &Store{d: s.d}
	if fresh.countAll(ctx) != nil {
		return
	}
	s.stats.blobs.Store(fresh.stats.blobs.Load())
	s.stats.blobBytes.Store(fresh.stats.blobBytes.Load())
	s.stats.manifests.Store(fresh.stats.manifests.Load())
	s.stats.repos.Store(fresh.stats.repos.Load())
}

// countAll walks the tree once, when the store opens.
func (s *Store) countAll(ctx context.Context) error {
	err := s.eachBlob(ctx, func(_ digest.Digest, info driver.Info) {
		s.stats.blobs.Add(1)
		s.stats.blobBytes.Add(info.Size)
	})
	if err != nil {
		return err
	}
	repos, err := s.Repositories(ctx)
	if err != nil {
		return err
	}
	s.stats.repos.Store(int64(len(repos)))
	for _, name := range repos {
		revs, err := s.revisions(ctx, name)
		if err != nil {
			return err
		}
		s.stats.manifests.Add(int64(len(revs)))
	}
	return nil
}
