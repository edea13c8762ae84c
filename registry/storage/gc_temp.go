package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Every write makes a temp file in tmp/ and renames or removes it, so a
// temp file outlives its write only when the process died mid-write. The
// storage report counts them; a collection removes those untouched since
// its cutoff (a write in progress keeps touching its file).

// tempFiles calls fn for every file in tmp/ (the filesystem driver's
// temp files; other drivers have none that outlive a request: an
// incomplete multipart upload is never visible).
func (s *Store) tempFiles(fn func(path string, info os.FileInfo)) {
	if s.root == "" {
		return
	}
	tmp := filepath.Join(s.root, "tmp")
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			fn(filepath.Join(tmp, e.Name()), info)
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
			if err = os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return
			}
			err = nil
		}
		n++
		bytes += info.Size()
	})
	return n, bytes, err
}
