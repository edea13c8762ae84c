package storage

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// Every write makes a temp file in tmp/ and renames or removes it, so a
// temp file outlives its write only when the process died mid-write. The
// storage report counts them; a collection removes those untouched since
// its cutoff (a write in progress keeps touching its file).

// tempFiles calls fn for every file in tmp/.
func (s *Store) tempFiles(fn func(path string, info os.FileInfo)) {
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			fn(filepath.Join(s.tmpDir(), e.Name()), info)
		}
	}
}

// sweepTemp removes the temp files older than cutoff (a dry run only
// counts them) and returns how many and their bytes.
func (s *Store) sweepTemp(ctx context.Context, cutoff time.Time, dryRun bool) (n int, bytes int64, err error) {
	s.tempFiles(func(path string, info os.FileInfo) {
		if !info.ModTime().Before(cutoff) || err != nil {
			return
		}
		if !dryRun {
			if err = removeFile(path); err != nil {
				return
			}
		}
		n++
		bytes += info.Size()
	})
	if n > 0 && !dryRun && err == nil {
		err = s.syncDir(s.tmpDir())
	}
	return n, bytes, err
}
