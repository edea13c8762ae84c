package storage_test

import (
	"errors"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/layerlab/layerlab/registry/storage"
)

// TestFailedMarkFailsTheOperation: when marking a blob or manifest fresh
// for garbage collection fails, the push or mount relying on the mark
// fails instead of succeeding unprotected.
func TestFailedMarkFailsTheOperation(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	s, err := storage.Open(t.TempDir(), storage.Options{WriteFault: func() error {
		if broken.Load() {
			return syscall.EIO
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	im := putImage(t, s, "lab/app", "v1", nil)
	broken.Store(true)
	// Pushed again unchanged: nothing to write, only marks to set.
	if _, _, err := s.PutManifest(t.Context(), "lab/app", "v1", storage.MediaTypeOCIManifest, im.body, nil); !errors.Is(err, syscall.EIO) {
		t.Errorf("manifest pushed again while marks fail: %v, want EIO", err)
	}
	if ok, err := s.Mount(t.Context(), "lab/app", "lab/app", im.layer); !errors.Is(err, syscall.EIO) {
		t.Errorf("mount while marks fail: %v %v, want EIO", ok, err)
	}
	if err := s.KeepFresh(t.Context(), "lab/app", im.layer); err != nil {
		t.Errorf("KeepFresh of a blob touched just now: %v (nothing to mark)", err)
	}
	broken.Store(false)
	if _, _, err := s.PutManifest(t.Context(), "lab/app", "v1", storage.MediaTypeOCIManifest, im.body, nil); err != nil {
		t.Errorf("after the fault cleared: %v", err)
	}
}
