// Package filesystem is the driver that keeps objects as files under one
// root directory: the key "blobs/sha256/ab/ab12…" is the file
// <root>/blobs/sha256/ab/ab12…, so the tree a learner explores with find,
// cat and jq is the store itself, and a store written before the driver
// boundary existed opens unchanged.
//
// Durability, as the store has always had it: every write streams to a
// temp file in <root>/tmp (the same filesystem), is fsynced and verified,
// then renamed into place — or hard-linked, when an existing object must
// never be replaced — and the directory is fsynced. A crash leaves the old
// object or the new one, never a torn file. The top-level name "tmp" is
// the driver's own: keys under it are refused.
//
// Deleting the last object of a directory removes the directory and its
// emptied parents, as an object store has no empty "directories".
package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Options tune a Driver.
type Options struct {
	// NoSync skips fsync (tests and benchmarks on throwaway data only).
	NoSync bool
	// WriteFault, when set, is asked before every write to a file; the error
	// it returns fails that write (tests inject ENOSPC or EIO with it).
	WriteFault func() error
	// DirSynced, when set, is told every directory the driver syncs (tests
	// check that no directory change is left unsynced).
	DirSynced func(dir string)
	// SyncFault, when set, is asked before every fsync of a file or a
	// directory (the path, or "unnamed temp file"); the error it returns
	// fails that flush (tests inject EIO with it).
	SyncFault func(path string) error
}

// Driver stores objects as files under a root directory.
type Driver struct {
	root      string
	sync      bool
	fault     func() error
	dirSynced func(dir string)
	dirs      dirCache // sorted entries of large directories
	syncFault func(path string) error
	flush     flusher // group commit of directory flushes
	// durableDirs holds the directories whose entries this process synced
	// in their parents (keys: paths).
	durableDirs sync.Map
	noAttrs     atomic.Bool // the filesystem keeps no extended attributes (upload.go)
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver rooted at root, creating the directory if needed.
func New(root string, opts Options) (*Driver, error) {
	if root == "" {
		return nil, errors.New("filesystem driver: root is empty")
	}
	if err := os.MkdirAll(filepath.Join(root, tmpDir), 0o755); err != nil {
		return nil, fmt.Errorf("filesystem driver: %w", err)
	}
	d := &Driver{root: filepath.Clean(root), sync: !opts.NoSync, fault: opts.WriteFault, dirSynced: opts.DirSynced, syncFault: opts.SyncFault}
	return d, nil
}

const tmpDir = "tmp"

// Root is the directory the driver stores under.
func (d *Driver) Root() string { return d.root }

// path checks key and returns its file path.
func (d *Driver) path(ctx context.Context, key string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := driver.CheckKey(key); err != nil {
		return "", err
	}
	if key == tmpDir || strings.HasPrefix(key, tmpDir+"/") {
		return "", &driver.KeyError{Key: key}
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Stat implements driver.Driver.
func (d *Driver) Stat(ctx context.Context, key string) (driver.Info, error) {
	p, err := d.path(ctx, key)
	if err != nil {
		return driver.Info{}, err
	}
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return driver.Info{}, d.notFound(key, err)
	}
	return driver.Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// notFound maps "no such file", "not a directory" and "is a directory"
// (the key names a directory, not an object) to ErrNotFound.
func (d *Driver) notFound(key string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		return driver.NotFound(key)
	}
	return err
}

// GetContent implements driver.Driver. It is on the hot path of every
// manifest GET (a tag, a revision link, the manifest), so it uses plain
// system calls: open, read until EOF, close.
func (d *Driver) GetContent(ctx context.Context, key string, limit int64) ([]byte, error) {
	p, err := d.path(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := readSmall(p, limit)
	if errors.Is(err, driver.ErrTooLarge) {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", key, limit, err)
	}
	if err != nil {
		return nil, d.notFound(key, err)
	}
	return b, nil
}

// Open implements driver.Driver.
func (d *Driver) Open(ctx context.Context, key string) (driver.Reader, error) {
	return d.open(ctx, key)
}

// open opens the regular file of key.
func (d *Driver) open(ctx context.Context, key string) (*reader, error) {
	p, err := d.path(ctx, key)
	if err != nil {
		return nil, err
	}
	fd, err := openRead(p)
	if err != nil {
		return nil, d.notFound(key, err)
	}
	f := os.NewFile(uintptr(fd), p)
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, d.notFound(key, err)
	}
	return &reader{File: f, info: driver.Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}}, nil
}

type reader struct {
	*os.File
	info driver.Info
}

func (r *reader) Info() driver.Info { return r.info }

// Put implements driver.Driver.
func (d *Driver) Put(ctx context.Context, key string, r io.Reader, opts driver.PutOptions) (int64, error) {
	dst, err := d.path(ctx, key)
	if err != nil {
		return 0, err
	}
	t, err := d.createTemp()
	if err != nil {
		return 0, err
	}
	defer t.discard()
	n, err := d.copy(writeBehind(ctx, t, t.fd, 0), driver.ContextReader(ctx, r))
	if err == nil && opts.Verify != nil {
		err = opts.Verify(n)
	}
	if err == nil {
		err = d.syncFile(t.fd, t.name())
	}
	if err == nil {
		err = d.commit(t, dst, key, opts.IfNotExists)
	}
	return n, err
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// copy streams r to w through a pooled buffer, failing writes as the
// WriteFault says.
func (d *Driver) copy(w io.Writer, r io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if d.fault != nil {
		w = faultWriter{w, d.fault}
	}
	return io.CopyBuffer(onlyWriter{w}, onlyReader{r}, *bp)
}

// onlyWriter and onlyReader hide ReadFrom and WriteTo, so the copy goes
// through the pooled buffer whatever the types.
type onlyWriter struct{ io.Writer }
type onlyReader struct{ io.Reader }

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

// Delete implements driver.Driver.
func (d *Driver) Delete(ctx context.Context, key string) error {
	p, err := d.path(ctx, key)
	if err != nil {
		return err
	}
	if st, err := os.Lstat(p); err != nil || st.IsDir() {
		return d.notFound(key, err)
	}
	if err := os.Remove(p); err != nil {
		return d.notFound(key, err)
	}
	if err := d.syncDir(filepath.Dir(p), ""); err != nil {
		return err
	}
	return d.prune(filepath.Dir(p), true)
}

// DeleteMany implements driver.BatchDeleter: it unlinks every file, then
// removes the directories it left empty (and their parents while empty),
// then flushes once each directory that holds what it removed.
func (d *Driver) DeleteMany(ctx context.Context, keys []string) error {
	dirs := map[string]bool{}
	for _, key := range keys {
		p, err := d.path(ctx, key)
		if err != nil {
			return err
		}
		switch err := syscall.Unlink(p); err {
		case nil:
			dirs[filepath.Dir(p)] = true
		case syscall.ENOENT, syscall.ENOTDIR, syscall.EISDIR: // missing, or a directory: not an object
		default:
			return &fs.PathError{Op: "unlink", Path: p, Err: err}
		}
	}
	// Deepest first: a directory emptied goes before its parent is looked at.
	order := slices.SortedFunc(maps.Keys(dirs), func(a, b string) int { return len(b) - len(a) })
	flush := map[string]bool{}
	for _, dir := range order {
		left, removed := d.removeEmpty(dir)
		for _, r := range removed {
			delete(flush, r)
		}
		flush[left] = true
	}
	for _, dir := range slices.Sorted(maps.Keys(flush)) {
		if err := d.syncDir(dir, ""); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// prune removes dir and its parents while they are empty, up to the root,
// and with durable syncs the directory that held the last one removed.
func (d *Driver) prune(dir string, durable bool) error {
	left, removed := d.removeEmpty(dir)
	if len(removed) == 0 || !durable {
		return nil
	}
	if err := d.syncDir(left, ""); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// removeEmpty removes dir and its parents while they are empty, up to the
// root. It returns the directory it stopped at and those it removed.
func (d *Driver) removeEmpty(dir string) (left string, removed []string) {
	for len(dir) > len(d.root) && strings.HasPrefix(dir, d.root) {
		d.durableDirs.Delete(dir)
		if syscall.Rmdir(dir) != nil {
			break
		}
		removed = append(removed, dir)
		dir = filepath.Dir(dir)
	}
	return dir, removed
}
