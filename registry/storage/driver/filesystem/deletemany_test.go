package filesystem

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// TestDeleteManyFlushesEachDirectoryOnce: DeleteMany removes the objects
// given (skipping missing keys and directories), removes the directories
// it emptied, and flushes once each directory left holding a removal —
// where Delete would flush once per object.
func TestDeleteManyFlushesEachDirectoryOnce(t *testing.T) {
	root := t.TempDir()
	var mu sync.Mutex
	flushes := map[string]int{}
	d, err := New(root, Options{DirSynced: func(dir string) {
		mu.Lock()
		flushes[strings.TrimPrefix(dir, root)]++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, k := range []string{"a/x/1", "a/x/2", "a/x/3", "a/y/1", "a/z/1", "b/1", "b/2", "c/1"} {
		if _, err := d.Put(ctx, k, strings.NewReader(k), driver.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clear(flushes)
	if err := d.DeleteMany(ctx, []string{"a/x/1", "a/x/2", "a/x/3", "a/y/1", "b/1", "missing/k", "a/z"}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"a/x", "a/y", "b/1"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", gone, err)
		}
	}
	for _, kept := range []string{"a/z/1", "b/2", "c/1"} {
		if _, err := d.Stat(ctx, kept); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
	// a/x and a/y were emptied and removed: a, which held them, is flushed
	// once; b once; nothing else.
	want := map[string]int{"/a": 1, "/b": 1}
	if len(flushes) != len(want) || flushes["/a"] != 1 || flushes["/b"] != 1 {
		t.Fatalf("flushes %v, want %v", flushes, want)
	}
}
