package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The raw file operations of the store live in this file: a second backend
// would replace these few functions.

// newID returns a random 128-bit identifier in hex.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// createTemp opens a new temp file in the store's tmp directory, which is on
// the same filesystem as everything it will be renamed onto.
func (s *Store) createTemp() (*os.File, error) {
	f, err := os.CreateTemp(s.tmpDir(), "tmp-")
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(s.tmpDir(), 0o755); err == nil {
			f, err = os.CreateTemp(s.tmpDir(), "tmp-")
		}
	}
	return f, err
}

// commitFile fsyncs and closes f, then renames it onto dst (creating dst's
// directory) and syncs that directory. The temp file is removed on failure.
func (s *Store) commitFile(f *os.File, dst string) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.renameInto(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// renameInto moves src onto dst atomically, creating dst's parent directory
// when needed, and makes the new directory entry durable.
func (s *Store) renameInto(src, dst string) error {
	dir := filepath.Dir(dst)
	err := os.Rename(src, dst)
	if errors.Is(err, fs.ErrNotExist) {
		if err = s.mkdirAll(dir); err != nil {
			return err
		}
		err = os.Rename(src, dst)
	}
	if err != nil {
		return err
	}
	return s.syncDir(dir)
}

// mkdirAll creates dir and its missing parents, and makes each new
// directory's entry durable by syncing the directory that holds it.
func (s *Store) mkdirAll(dir string) error {
	var created []string
	for d := dir; !exists(d) && d != filepath.Dir(d); d = filepath.Dir(d) {
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range created {
		if err := s.syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// writer returns w, failing writes as the store's WriteFault says.
func (s *Store) writer(w io.Writer) io.Writer {
	if s.fault == nil {
		return w
	}
	return faultWriter{w, s.fault}
}

type faultWriter struct {
	w     io.Writer
	fault func() error
}

func (f faultWriter) Write(p []byte) (int, error) {
	if err := f.fault(); err != nil {
		return 0, err
	}
	return f.w.Write(p)
}

// writeFileAtomic replaces dst with data: temp file, fsync, rename, dir sync.
func (s *Store) writeFileAtomic(ctx context.Context, dst string, data []byte) error {
	f, err := s.tempWith(data)
	if err != nil {
		return err
	}
	return s.commitFile(f, dst)
}

// tempWith returns a temp file holding data, still open for committing.
func (s *Store) tempWith(data []byte) (*os.File, error) {
	f, err := s.createTemp()
	if err != nil {
		return nil, err
	}
	if _, err := s.writer(f).Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// syncDir makes the entries of a directory durable (unless fsync is off).
func (s *Store) syncDir(dir string) error {
	if !s.fsync {
		return nil
	}
	if s.dirSynced != nil {
		s.dirSynced(dir)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeDurably removes a file (one already gone is not an error) and
// makes the removal durable by syncing its directory.
func (s *Store) removeDurably(ctx context.Context, path string) error {
	if err := removeFile(path); err != nil {
		return err
	}
	return s.syncParent(path)
}

// syncDirs syncs each of a set of directories that still exists.
func (s *Store) syncDirs(dirs map[string]bool) error {
	for dir := range dirs {
		if err := s.syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// syncParent syncs the directory holding path, unless fsync is off.
func (s *Store) syncParent(path string) error {
	err := s.syncDir(filepath.Dir(path))
	if errors.Is(err, fs.ErrNotExist) { // the directory went with its last entry
		return nil
	}
	return err
}

// removeFile removes path; a file that is already gone is not an error.
func removeFile(path string) error {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// readSmallFile reads a bookkeeping file (link, tag, descriptor, manifest)
// of at most limit bytes. It is on the hot path of every manifest GET, so
// it uses plain system calls: open, read until EOF, close.
func readSmallFile(path string, limit int64) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%s: more than %d bytes", path, limit)
		}
	}
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// pruneEmptyDirs removes dir and its empty parents up to (not including) stop.
func pruneEmptyDirs(dir, stop string) {
	for dir != stop && len(dir) > len(stop) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}
