package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
)

// Concurrent deletes of one manifest: the manifest is gone, and the
// running totals count it gone once (as a restarted store counts them).
func TestConcurrentDeletesOfOneManifest(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	cfg, layer := []byte(`{"os":"linux"}`), registrytest.RandomBytes(t, 100)
	for _, b := range [][]byte{cfg, layer} {
		if _, err := s.PutBlob(t.Context(), "lab/app", digest.FromBytes(b), int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	var ds []digest.Digest
	for i := 0; i < 2; i++ {
		body := manifest(digest.FromBytes(cfg), digest.FromBytes(layer), int64(len(cfg)), int64(len(layer)), fmt.Sprint(i))
		d, _, err := s.PutManifest(t.Context(), "lab/app", fmt.Sprintf("v%d", i), "", body, nil)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	for round := 0; round < 20; round++ {
		errs := run(n, func(i int) error { return s.DeleteManifest(t.Context(), "lab/app", ds[0]) })
		for _, err := range errs {
			if err != nil && !errors.Is(err, storage.ErrManifestUnknown) {
				t.Fatalf("concurrent delete: %v", err)
			}
		}
		if _, _, _, err := s.GetManifest(t.Context(), "lab/app", ds[0].String()); !errors.Is(err, storage.ErrManifestUnknown) {
			t.Fatalf("deleted manifest: %v", err)
		}
		if got, want := s.Stats(), open(t, root).Stats(); got.Manifests != want.Manifests || got.Repositories != want.Repositories {
			t.Fatalf("round %d: running totals %d manifests in %d repositories, the disk holds %d in %d",
				round, got.Manifests, got.Repositories, want.Manifests, want.Repositories)
		}
		body := manifest(digest.FromBytes(cfg), digest.FromBytes(layer), int64(len(cfg)), int64(len(layer)), "0")
		if _, _, err := s.PutManifest(t.Context(), "lab/app", "v0", "", body, nil); err != nil {
			t.Fatal(err)
		}
	}
}
