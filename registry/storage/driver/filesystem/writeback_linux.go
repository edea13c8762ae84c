//go:build linux

package filesystem

import (
	"context"
	"io"

	"golang.org/x/sys/unix"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// writeBehind is the window after which written bytes are handed to the
// kernel for writing out, while more arrive: the fsync that commits a
// large blob then finds little left to do.
const behindWindow = 8 << 20

// flushBehind wraps a file being appended to and starts the writeback of
// each full window as soon as it is written (sync_file_range, which does
// not wait). Durability still comes from the fsync at commit.
type flushBehind struct {
	w          io.Writer
	fd         int
	start, off int64 // window start, current offset
}

// writeBehind is w, written behind unless ctx says nobody waits for the
// commit (driver.WithoutWriteBehind).
func writeBehind(ctx context.Context, w io.Writer, fd int, off int64) io.Writer {
	if !driver.WriteBehind(ctx) {
		return w
	}
	return newFlushBehind(w, fd, off)
}

// newFlushBehind starts at offset off, where the next write lands (a file
// opened with O_APPEND reports offset 0 until it is written to, so the
// caller says).
func newFlushBehind(w io.Writer, fd int, off int64) io.Writer {
	return &flushBehind{w: w, fd: fd, start: off, off: off}
}

func (w *flushBehind) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.off += int64(n)
	if w.off-w.start >= behindWindow {
		unix.SyncFileRange(w.fd, w.start, w.off-w.start, unix.SYNC_FILE_RANGE_WRITE)
		w.start = w.off
	}
	return n, err
}
