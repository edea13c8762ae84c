package filesystem

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// TestGroupCommit: commits that land in one directory while its flush runs
// share the next flush, and none returns before the flush that covers it
// ended. When that shared flush fails, every commit of the batch fails and
// none of the objects it created stays visible — puts and an upload
// session's commit alike — while the commit before it, whose flush
// succeeded, keeps its object.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "objects")
	var flushes atomic.Int32
	release := make(chan struct{})
	var failing atomic.Bool
	d, err := New(root, Options{SyncFault: func(path string) error {
		if path != dir {
			return nil
		}
		if flushes.Add(1) == 1 {
			<-release // the first flush of the directory runs until released, and succeeds
			return nil
		}
		if failing.Load() {
			return syscall.EIO
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(key string) error {
		_, err := d.Put(ctx, key, strings.NewReader("content of "+key), driver.PutOptions{IfNotExists: true})
		return err
	}

	// The first commit starts the directory's flush and waits inside it.
	firstDone := make(chan error, 1)
	go func() { firstDone <- put("objects/first") }()
	waitUsers(t, d, dir, 1)

	// Three more arrive while it runs: two puts and an upload's commit.
	up, err := d.StartUpload(ctx, "uploads/u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Append(ctx, strings.NewReader("session bytes"), func(int64) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	batch := []string{"objects/b1", "objects/b2", "objects/b3"}
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	for i, key := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 2 {
				errs[i] = up.Commit(ctx, key, driver.PutOptions{IfNotExists: true})
				return
			}
			errs[i] = put(key)
		}()
	}
	waitUsers(t, d, dir, 1+len(batch))
	select {
	case err := <-firstDone:
		t.Fatalf("the first put returned (%v) while the flush covering it still ran", err)
	case <-time.After(50 * time.Millisecond):
	}
	failing.Store(true)
	close(release) // the first flush succeeds; the next one, shared, fails
	if err := <-firstDone; err != nil {
		t.Fatalf("first put: %v", err)
	}
	wg.Wait()
	if n := flushes.Load(); n != 2 {
		t.Errorf("%d flushes of the directory, want 2: the batch did not share one", n)
	}
	if _, err := d.Stat(ctx, "objects/first"); err != nil {
		t.Errorf("the first object: %v", err)
	}
	for i, key := range batch {
		if !errors.Is(errs[i], syscall.EIO) {
			t.Errorf("%s: %v, want the flush's EIO", key, errs[i])
		}
		if _, err := d.Stat(ctx, key); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("%s is visible after its flush failed (%v)", key, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(root, tmpDir)); len(entries) != 0 {
		t.Errorf("temp files left: %v", entries)
	}

	// The disk recovers: the same puts succeed.
	failing.Store(false)
	for _, key := range batch[:2] {
		if err := put(key); err != nil {
			t.Errorf("%s again: %v", key, err)
		}
	}
}

// waitUsers waits until n commits are in the group commit of dir.
func waitUsers(t *testing.T, d *Driver, dir string, n int) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		d.flush.mu.Lock()
		users := 0
		if st := d.flush.dirs[dir]; st != nil {
			users = st.users
		}
		d.flush.mu.Unlock()
		if users == n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d commits never reached the flush of %s", n, dir)
}

// TestMkdirAllOfADurableDirectory: a commit that found its directory
// missing and then finds it made durable meanwhile (by a concurrent commit
// of this process) has nothing to create or flush, and goes on. A push of
// small images under load panicked here (an empty list sliced from 1).
func TestMkdirAllOfADurableDirectory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "repositories", "lab", "app")
	for i := range 2 {
		if err := d.mkdirAll(dir); err != nil {
			t.Fatalf("mkdirAll #%d: %v", i+1, err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("%s: %v", dir, err)
	}
}
