//go:build linux

package filesystem

import (
	"bytes"
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

// TestSessionStateInAttribute: a session's state lives in its data file's
// attribute (no state file is made, none removed), resumes from there, and
// the committed object carries no attribute; on a filesystem without
// attributes the state file takes over; a session holding both resumes from
// the one further along.
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
	dir := filepath.Join(d.Root(), "uploads", "a")
	names := func() []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	if got := names(); len(got) != 1 || got[0] != "data" {
		t.Fatalf("session files %v, want only data", got)
	}
	if b, err := getState(filepath.Join(dir, "data")); err != nil || b == nil {
		t.Fatalf("no state attribute: %v", err)
	}
	r, err := d.ResumeUpload(ctx, "uploads/a")
	if err != nil || r.Size() != 6 || string(r.State()) != "s1" {
		t.Fatalf("resumed: %v size %d state %q", err, r.Size(), r.State())
	}
	if err := r.Commit(ctx, "blobs/a", driver.PutOptions{IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
	if n, err := unix.Getxattr(filepath.Join(d.Root(), "blobs", "a"), stateAttr, make([]byte, 64)); err == nil {
		t.Fatalf("the committed object carries its session's state (%d bytes)", n)
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
