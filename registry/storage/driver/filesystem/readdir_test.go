package filesystem

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// TestReadDir: every entry, once, with its kind; a directory larger than
// one read's buffer is read whole; stopping early stops.
func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{}
	for i := range 3000 { // some 100 KiB of entries: several reads of 8 KiB
		name := fmt.Sprintf("file-with-a-longish-name-%05d", i)
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want[name] = "regular"
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	want["sub"] = "dir"
	if err := os.Symlink("sub", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	want["link"] = "other"
	got := map[string]string{}
	err := readDir(dir, func(name string, isDir, regular bool) bool {
		if _, dup := got[name]; dup {
			t.Errorf("%s listed twice", name)
		}
		switch {
		case isDir:
			got[name] = "dir"
		case regular:
			got[name] = "regular"
		default:
			got[name] = "other"
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for name, kind := range want {
		if got[name] != kind {
			t.Errorf("%s: %q, want %q", name, got[name], kind)
		}
	}
	n := 0
	readDir(dir, func(string, bool, bool) bool { n++; return n < 5 })
	if n != 5 {
		t.Errorf("stopped after %d entries, want 5", n)
	}
	if err := readDir(filepath.Join(dir, "missing"), func(string, bool, bool) bool { return true }); !os.IsNotExist(err) {
		t.Errorf("a missing directory: %v, want not exist", err)
	}
	if !empty(filepath.Join(dir, "sub")) || empty(dir) {
		t.Error("empty: wrong answer")
	}
}

// TestStampAndEmptyDirs: a directory's stamp moves with an entry made in
// it, is not settled while fresh and is once old; a missing one is not
// found; a one-level listing hides an empty directory unless asked not to.
func TestStampAndEmptyDirs(t *testing.T) {
	d := driverHolding(t, "a/b/x")
	ctx := t.Context()
	if err := os.Mkdir(filepath.Join(d.Root(), "a", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	s1, settled, err := d.Stamp(ctx, "a/")
	if err != nil || settled {
		t.Fatalf("fresh directory: stamp %d settled %v, %v; want not settled", s1, settled, err)
	}
	old := time.Now().Add(-time.Minute)
	os.Chtimes(filepath.Join(d.Root(), "a"), old, old)
	s2, settled, err := d.Stamp(ctx, "a/")
	if err != nil || !settled || s2 == s1 {
		t.Fatalf("old directory: stamp %d (was %d) settled %v, %v; want a settled new stamp", s2, s1, settled, err)
	}
	if _, err := d.Put(ctx, "a/c", strings.NewReader("c"), driver.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if s3, _, _ := d.Stamp(ctx, "a/"); s3 == s2 {
		t.Fatal("the stamp did not move with an entry made")
	}
	if _, _, err := d.Stamp(ctx, "nothing/"); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("missing directory: %v", err)
	}
	list := func(opts driver.ListOptions) (keys []string) {
		d.List(ctx, "a/", opts, func(e driver.Entry) error { keys = append(keys, e.Key); return nil })
		return keys
	}
	if got := list(driver.ListOptions{}); !slices.Equal(got, []string{"a/b/", "a/c"}) {
		t.Errorf("listing: %v", got)
	}
	if got := list(driver.ListOptions{EmptyDirs: true}); !slices.Equal(got, []string{"a/b/", "a/c", "a/empty/"}) {
		t.Errorf("listing with EmptyDirs: %v", got)
	}
}

// driverHolding is a driver (no flushes) on a fresh root holding an object
// at key.
func driverHolding(t *testing.T, key string) *Driver {
	t.Helper()
	d, err := New(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(t.Context(), key, strings.NewReader("some bytes"), driver.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	return d
}
