package filesystem

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestReadDir: every entry, once, with its kind; a directory larger than
// one read's buffer is read whole; stopping early stops.
func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{}
	for i := range 3000 { // some 100 KiB of entries: several reads
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
