//go:build linux

package filesystem

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// appendState appends b to u with caller state st.
func appendState(t *testing.T, u driver.Upload, b []byte, st string) {
	t.Helper()
	if _, err := u.Append(t.Context(), bytes.NewReader(b), func(int64) ([]byte, error) { return []byte(st), nil }); err != nil {
		t.Fatal(err)
	}
}

// TestSessionStateInAttribute: a session is one file whose attribute holds
// its state (no directory, no state file: nothing made to be removed), it
// resumes from there, its inode becomes the committed object's, which
// carries no attribute; a file whose state was never stored does not
// resume; on a filesystem without attributes a directory with a state file
// takes over; a session holding both resumes from the one further along.
func TestSessionStateInAttribute(t *testing.T) {
	d, err := New(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	u, err := d.StartUpload(ctx, "uploads/a", []byte("s0"))
	if err != nil {
		t.Fatal(err)
	}
	appendState(t, u, []byte("hello "), "s1")
	uploads := filepath.Join(d.Root(), "uploads")
	names := func(dir string) []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	session := filepath.Join(uploads, "a")
	st, err := os.Lstat(session)
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("the session is not one file: %v %v", st, err)
	}
	if got := names(uploads); len(got) != 1 || got[0] != "a" {
		t.Fatalf("uploads holds %v, want only the session's file", got)
	}
	if b, err := getState(session); err != nil || b == nil {
		t.Fatalf("no state attribute: %v", err)
	}
	r, err := d.ResumeUpload(ctx, "uploads/a")
	if err != nil || r.Size() != 6 || string(r.State()) != "s1" {
		t.Fatalf("resumed: %v size %d state %q", err, r.Size(), r.State())
	}
	if err := r.Commit(ctx, "blobs/a", driver.PutOptions{IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
	object := filepath.Join(d.Root(), "blobs", "a")
	if n, err := unix.Getxattr(object, stateAttr, make([]byte, 64)); err == nil {
		t.Fatalf("the committed object carries its session's state (%d bytes)", n)
	}
	if ost, err := os.Stat(object); err != nil || !os.SameFile(st, ost) {
		t.Fatalf("the object is not the session's inode: %v", err)
	}
	if got := names(uploads); len(got) != 0 {
		t.Fatalf("committed, uploads still holds %v", got)
	}

	// Made, and killed before its state was stored: not a session.
	if err := os.WriteFile(filepath.Join(uploads, "torn"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ResumeUpload(ctx, "uploads/torn"); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("a file without state resumed: %v", err)
	}

	// A filesystem without attributes: the state file.
	d.noAttrs.Store(true)
	u, err = d.StartUpload(ctx, "uploads/b", []byte("t0"))
	if err != nil {
		t.Fatal(err)
	}
	appendState(t, u, []byte("abc"), "t1")
	if _, err := os.Stat(filepath.Join(d.Root(), "uploads", "b", "state")); err != nil {
		t.Fatalf("no state file without attributes: %v", err)
	}
	// Attributes again (another process, say): the attribute is further along.
	d.noAttrs.Store(false)
	r, err = d.ResumeUpload(ctx, "uploads/b")
	if err != nil || r.Size() != 3 || string(r.State()) != "t1" {
		t.Fatalf("resumed from the file: %v size %d state %q", err, r.Size(), r.State())
	}
	appendState(t, r, []byte("defg"), "t2")
	r, err = d.ResumeUpload(ctx, "uploads/b")
	if err != nil || r.Size() != 7 || string(r.State()) != "t2" {
		t.Fatalf("resumed with both: %v size %d state %q; want the attribute's 7, t2", err, r.Size(), r.State())
	}
	rd, err := r.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rd)
	rd.Close()
	if string(got) != "abcdefg" {
		t.Fatalf("session bytes %q", got)
	}
	if err := r.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.Root(), "uploads", "b")); !os.IsNotExist(err) {
		t.Fatalf("cancelled session left: %v", err)
	}
}
