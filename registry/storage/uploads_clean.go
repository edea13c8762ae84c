package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// CleanUploads removes sessions untouched for longer than maxAge and temp
// files older than maxAge, and on S3 the multipart uploads that processes
// killed mid-write left. It returns how many sessions it removed.
func (s *Store) CleanUploads(ctx context.Context, maxAge time.Duration) (int, error) {
	cutoff := time.Now().Add(-maxAge)
	var dirs []string
	err := s.d.List(ctx, uploadsPrefix, driver.ListOptions{}, func(e driver.Entry) error {
		if e.Dir {
			dirs = append(dirs, e.Key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, dir := range dirs {
		if s.newerThan(ctx, dir, cutoff) {
			continue
		}
		id := lastComponent(dir)
		s.mu.Lock()
		st := s.uploads[id]
		s.mu.Unlock()
		if st != nil && !st.mu.TryLock() {
			continue // in use right now
		}
		if st != nil {
			st.gone = true
			s.forget(id)
		}
		if up, err := s.d.ResumeUpload(ctx, dir[:len(dir)-1]); err == nil {
			up.Cancel(ctx)
		}
		if s.deleteAll(ctx, dir) == nil {
			removed++
		}
		if st != nil {
			st.mu.Unlock()
		}
	}
	if a, ok := s.d.(interface {
		AbortStale(context.Context, time.Duration) (int, error)
	}); ok {
		if _, err := a.AbortStale(ctx, maxAge); err != nil {
			return removed, err
		}
	}
	s.pruneUploadDirs()
	s.tempFiles(func(path string, info os.FileInfo) {
		if info.ModTime().Before(cutoff) {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return
			}
		}
	})
	return removed, nil
}

// pruneUploadDirs removes the empty session directories a process killed
// while starting a session left on the filesystem (a listing never shows
// an empty directory, so the loop above cannot see them).
func (s *Store) pruneUploadDirs() {
	if s.root == "" {
		return
	}
	dir := filepath.Join(s.root, "uploads")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			os.Remove(filepath.Join(dir, e.Name())) // fails unless empty
		}
	}
}
