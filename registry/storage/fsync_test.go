package storage_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver/filesystem"
)

// dirsUnder lists every directory under root.
func dirsUnder(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			out[path] = true
		}
		return nil
	})
	return out
}

// TestDirectoryChangesAreSynced: a directory created on the way to a
// commit has its entry synced in its parent, and a delete syncs the
// directory it removed from — so neither is lost to a power cut after the
// client was answered. (A directory a delete empties is removed, and the
// nearest one left is synced instead.)
func TestDirectoryChangesAreSynced(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	var mu sync.Mutex
	synced := map[string]bool{}
	fsd, err := filesystem.New(root, filesystem.Options{DirSynced: func(dir string) {
		mu.Lock()
		synced[dir] = true
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(root, storage.Options{Driver: fsd})
	if err != nil {
		t.Fatal(err)
	}
	before := dirsUnder(t, root)
	const repo = "lab/new/app"
	im := putImage(t, s, repo, "v1", nil)
	for dir := range dirsUnder(t, root) {
		if !before[dir] && !synced[filepath.Dir(dir)] {
			t.Errorf("%s was created but %s, which holds it, was never synced", dir, filepath.Dir(dir))
		}
	}
	repoDir := filepath.Join(root, "repositories", repo)
	wantSync := func(what, dir string, fn func() error) {
		t.Helper()
		mu.Lock()
		clear(synced)
		mu.Unlock()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		// The directory removed from, or where that one was emptied and
		// removed too (and its parents while empty), the one that held it.
		for _, err := os.Stat(dir); os.IsNotExist(err); _, err = os.Stat(dir) {
			dir = filepath.Dir(dir)
		}
		if !synced[dir] {
			t.Errorf("%s: %s not synced", what, dir)
		}
	}
	wantSync("delete a tag", filepath.Join(repoDir, "_manifests", "tags"), func() error { return s.DeleteTag(t.Context(), repo, "v1") })
	wantSync("delete a manifest", filepath.Join(repoDir, "_manifests", "revisions", "sha256"), func() error { return s.DeleteManifest(t.Context(), repo, im.d) })
	wantSync("delete a blob link", filepath.Join(repoDir, "_layers", "sha256"), func() error { return s.DeleteBlob(t.Context(), repo, im.layer) })
	ageAll(t, root)
	wantSync("collect garbage", filepath.Dir(blobFile(root, digest.Digest(im.layer))), func() error {
		_, err := s.GC(t.Context(), storage.GCOptions{})
		return err
	})
}
