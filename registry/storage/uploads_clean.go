package storage

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// CleanUploads removes sessions untouched for longer than maxAge and temp
// files older than maxAge. It returns how many sessions it removed.
func (s *Store) CleanUploads(ctx context.Context, maxAge time.Duration) (int, error) {
	cutoff := time.Now().Add(-maxAge)
	entries, err := os.ReadDir(s.uploadsDir())
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range entries {
		dir := s.uploadDir(e.Name())
		if !lastTouched(dir).Before(cutoff) {
			continue
		}
		s.mu.Lock()
		st := s.uploads[e.Name()]
		s.mu.Unlock()
		if st != nil && !st.mu.TryLock() {
			continue // in use right now
		}
		if st != nil {
			st.gone = true
			s.mu.Lock()
			delete(s.uploads, e.Name())
			s.mu.Unlock()
		}
		if os.RemoveAll(dir) == nil {
			removed++
		}
		if st != nil {
			st.mu.Unlock()
		}
	}
	if tmps, err := os.ReadDir(s.tmpDir()); err == nil {
		for _, e := range tmps {
			if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
				os.Remove(filepath.Join(s.tmpDir(), e.Name()))
			}
		}
	}
	return removed, nil
}

// lastTouched is the newest modification time of a session's files.
func lastTouched(dir string) time.Time {
	var t time.Time
	for _, name := range []string{"", "info", "data"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}
