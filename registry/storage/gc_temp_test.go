package storage_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/layerlab/layerlab/registry/storage"
)

// TestTempFilesLeftByACrash: temp files a crash left in tmp/ are counted
// by the storage report and removed by a collection once older than its
// grace; a recent one (a write in progress) stays.
func TestTempFilesLeftByACrash(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	old, fresh := filepath.Join(root, "tmp", "tmp-crashed"), filepath.Join(root, "tmp", "tmp-writing")
	if err := os.WriteFile(old, make([]byte, 3000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fresh, make([]byte, 500), 0o644); err != nil {
		t.Fatal(err)
	}
	age(t, old)
	u, err := s.DiskUsage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u.TempFiles != 2 || u.TempBytes != 3500 {
		t.Errorf("du: %d temp files, %d bytes; want 2, 3500", u.TempFiles, u.TempBytes)
	}
	dry, err := s.GC(t.Context(), storage.GCOptions{DryRun: true, Grace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if dry.RemovedTemp != 1 || dry.RemovedTempBytes != 3000 || !exists(old) {
		t.Errorf("dry run: %d temp files, %d bytes (want 1, 3000); crashed file still there: %v", dry.RemovedTemp, dry.RemovedTempBytes, exists(old))
	}
	res, err := s.GC(t.Context(), storage.GCOptions{Grace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.RemovedTemp != 1 || res.RemovedTempBytes != 3000 || exists(old) || !exists(fresh) {
		t.Errorf("gc: removed %d temp files, %d bytes (want 1, 3000); crashed file left: %v, recent one kept: %v",
			res.RemovedTemp, res.RemovedTempBytes, exists(old), exists(fresh))
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
