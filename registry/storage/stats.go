package storage

import (
	"os"
	"path/filepath"
	"sync/atomic"
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
}

// Stats returns the current totals.
func (s *Store) Stats() Stats {
	st := Stats{Blobs: s.stats.blobs.Load(), BlobBytes: s.stats.blobBytes.Load(),
		Manifests: s.stats.manifests.Load(), Repositories: s.stats.repos.Load()}
	if f, err := os.Open(s.uploadsDir()); err == nil {
		names, _ := f.Readdirnames(-1)
		f.Close()
		st.Uploads = int64(len(names))
	}
	return st
}

// countAll walks the tree once, when the store opens.
func (s *Store) countAll() error {
	algs, err := os.ReadDir(s.blobsDir())
	if err != nil {
		return err
	}
	for _, alg := range algs {
		err := filepath.WalkDir(filepath.Join(s.blobsDir(), alg.Name()), func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			if info, err := d.Info(); err == nil {
				s.stats.blobs.Add(1)
				s.stats.blobBytes.Add(info.Size())
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	repos, err := s.Repositories()
	if err != nil {
		return err
	}
	s.stats.repos.Store(int64(len(repos)))
	for _, name := range repos {
		s.stats.manifests.Add(int64(len(s.revisions(name))))
	}
	return nil
}
