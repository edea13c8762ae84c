package filesystem

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEmpty: a one-level listing hides a directory left empty (by a race
// with a prune); one holding files, directories, or both, is shown, and
// the link count never takes a directory of files for one of directories.
func TestEmpty(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := func(rel string) {
		if err := os.WriteFile(filepath.Join(root, rel), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	none, files, dirs := mk("none"), mk("files"), mk("dirs")
	file("files/a")
	mk("dirs/sub")
	file("dirs/sub/a")
	file("plain")
	for _, c := range []struct {
		path         string
		empty, holds bool
	}{
		{none, true, false},
		{files, false, false},
		{dirs, false, holdsDirs(dirs)}, // true where link counts count subdirectories
		{filepath.Join(root, "missing"), true, false},
		{filepath.Join(root, "plain"), true, false},
	} {
		if got := empty(c.path); got != c.empty {
			t.Errorf("empty(%s) = %v, want %v", c.path, got, c.empty)
		}
		if got := holdsDirs(c.path); got != c.holds {
			t.Errorf("holdsDirs(%s) = %v, want %v", c.path, got, c.holds)
		}
	}
	if err := os.Remove(filepath.Join(root, "dirs/sub/a")); err != nil {
		t.Fatal(err)
	}
	if empty(dirs) {
		t.Error("a directory holding an empty directory is said to be empty")
	}
}
