package storage_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
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
// client was answered.
func TestDirectoryChangesAreSynced(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	var mu sync.Mutex
	synced := map[string]bool{}
	storage.SetDirSyncHook(s, func(dir string) {
		mu.Lock()
		synced[dir] = true
		mu.Unlock()
	})
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
		if !synced[dir] {
			t.Errorf("%s: %s not synced", what, dir)
		}
	}
	wantSync("delete a tag", filepath.Join(repoDir, "_manifests", "tags"), func() error { return s.DeleteTag(repo, "v1") })
	wantSync("delete a manifest", filepath.Join(repoDir, "_manifests", "revisions", "sha256"), func() error { return s.DeleteManifest(repo, im.d) })
	wantSync("delete a blob link", filepath.Join(repoDir, "_layers", "sha256"), func() error { return s.DeleteBlob(repo, im.layer) })
	ageAll(t, root)
	wantSync("collect garbage", filepath.Dir(blobFile(root, digest.Digest(im.layer))), func() error {
		_, err := s.GC(storage.GCOptions{})
		return err
	})
}
