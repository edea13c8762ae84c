//go:build linux

package filesystem

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReadsLeaveAccessTime: reading an object (whole, or opened and
// streamed) does not update its access time, which the kernel would
// otherwise do here (relatime: an access time older than the
// modification time is updated on the next read).
func TestReadsLeaveAccessTime(t *testing.T) {
	d := driverHolding(t, "blobs/x")
	ctx := t.Context()
	path := filepath.Join(d.Root(), "blobs", "x")
	atime := func() time.Time {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return time.Unix(st.Atim.Unix())
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetContent(ctx, "blobs/x", 100); err != nil {
		t.Fatal(err)
	}
	r, err := d.Open(ctx, "blobs/x")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	r.Close()
	if got := atime(); !got.Equal(old) {
		t.Fatalf("access time %s after the reads, was %s", got, old)
	}
}
