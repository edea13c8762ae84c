package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// CleanUploads removes sessions untouched for longer than maxAge and temp
// files older than maxAge, and on S3 the multipart uploads that processes
// killed mid-write left. It returns how many sessions it removed.
func (s *Store) CleanUploads(ctx context.Context, maxAge time.Duration) (int, error) {
	cutoff := time.Now().Add(-maxAge)
	var stale []driver.Entry
	err := s.eachSession(ctx, func(e driver.Entry) error {
		if e.Dir && !s.newerThan(ctx, e.Key, cutoff) || !e.Dir && e.ModTime.Before(cutoff) {
			stale = append(stale, e)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range stale {
		key := strings.TrimSuffix(e.Key, "/")
		id := lastComponent(key)
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
		// A session's own Cancel removes it; what it leaves (a torn
		// session, a directory of an older layout) is removed by key.
		cancelled := false
		if up, err := s.d.ResumeUpload(ctx, key); err == nil {
			cancelled = up.Cancel(ctx) == nil
		}
		var err error
		switch {
		case e.Dir:
			err = s.deleteAll(ctx, e.Key)
		case !cancelled:
			if err = s.d.Delete(ctx, key); errors.Is(err, driver.ErrNotFound) {
				err = nil
			}
		}
		if err == nil {
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

// eachSession calls fn for each upload session's entry under uploads/: a
// directory (sessions on S3 and in memory, and on a filesystem that keeps
// no extended attributes), or one object, a session on the filesystem
// (driver/filesystem/upload.go). Directories are passed whatever their
// name; objects only when named as a session.
func (s *Store) eachSession(ctx context.Context, fn func(driver.Entry) error) error {
	return s.d.List(ctx, uploadsPrefix, driver.ListOptions{}, func(e driver.Entry) error {
		if e.Dir || ValidUploadID(lastComponent(e.Key)) {
			return fn(e)
		}
		return nil
	})
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
