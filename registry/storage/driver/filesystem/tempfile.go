package filesystem

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// A write goes to a temp file in <root>/tmp with a unique name, which
// nobody sees until it is complete, flushed and verified. It is written
// with plain system calls: an *os.File would register every regular file
// with the network poller and back (four more system calls per file).
// Measured on ext4, unnamed temp files (O_TMPFILE) and renameat2's
// RENAME_NOREPLACE made small pushes slower, not faster: every unnamed
// file goes through the filesystem's orphan list, and a rename across
// directories takes a filesystem-wide lock that a link does not.

// tempFile is a file being written before it is placed at its key.
type tempFile struct {
	fd   int
	path string // its name in tmp/ ("" once renamed away, or for a file that is not a temp file)
}

// tempSeq and tempTag make temp names unique: this process's own tag,
// then a counter.
var (
	tempSeq atomic.Uint64
	tempTag = strconv.FormatInt(int64(os.Getpid()), 36) + "-" + strconv.FormatInt(time.Now().UnixNano()%(1<<30), 36)
)

// tempName returns a fresh name for a temp file in dir.
func tempName(dir, prefix string) string {
	return filepath.Join(dir, prefix+tempTag+"-"+strconv.FormatUint(tempSeq.Add(1), 36))
}

// createTemp opens a new temp file in the driver's tmp directory.
func (d *Driver) createTemp() (*tempFile, error) {
	dir := filepath.Join(d.root, tmpDir)
	for attempt := 0; ; attempt++ {
		p := tempName(dir, "tmp-")
		fd, err := openFile(p, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL, 0o600)
		if err == nil {
			return &tempFile{fd: fd, path: p}, nil
		}
		if errors.Is(err, fs.ErrNotExist) && attempt == 0 {
			if err = os.MkdirAll(dir, 0o755); err == nil {
				continue
			}
		}
		if !errors.Is(err, fs.ErrExist) || attempt > 8 {
			return nil, err
		}
	}
}

// openFile is open(2), retried on EINTR.
func openFile(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, perm)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// openRead opens a file to read it, leaving its access time alone when
// the kernel allows (noAtime: the file is this process's own). Once it
// refused (a store written by another user), reads stop asking: every
// read would otherwise cost a refused open first.
func openRead(path string) (int, error) {
	if noAtime != 0 && !noAtimeRefused.Load() {
		fd, err := openFile(path, syscall.O_RDONLY|noAtime, 0)
		if !errors.Is(err, syscall.EPERM) {
			return fd, err
		}
		noAtimeRefused.Store(true)
	}
	return openFile(path, syscall.O_RDONLY, 0)
}

var noAtimeRefused atomic.Bool

// Write writes all of p (a regular file: no short writes but on error).
func (t *tempFile) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Write(t.fd, p[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, &fs.PathError{Op: "write", Path: t.name(), Err: err}
		}
		n += m
	}
	return n, nil
}

func (t *tempFile) name() string {
	if t.path == "" {
		return "temp file"
	}
	return t.path
}

// sync flushes the file's bytes and size to the disk.
func (d *Driver) syncFile(fd int, name string) error {
	if !d.sync {
		return nil
	}
	if d.syncFault != nil {
		if err := d.syncFault(name); err != nil {
			return err
		}
	}
	for {
		err := syscall.Fsync(fd)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("fsync %s: %w", name, err)
		}
		return nil
	}
}

// discard closes the temp file and removes its name, if it still has one
// (after a link, or a failure; a rename took it already).
func (t *tempFile) discard() {
	if t.fd >= 0 {
		syscall.Close(t.fd)
		t.fd = -1
	}
	if t.path != "" {
		syscall.Unlink(t.path)
		t.path = ""
	}
}
