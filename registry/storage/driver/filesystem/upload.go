package filesystem

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// An upload session at key is one file, <root>/<key>: its bytes, with its
// state (JSON: the size those bytes are known to have, and the caller's
// state) in an extended attribute (user.layerlab.state) that the kernel
// replaces in one step after each append. A session makes one inode and
// keeps it: committed, the file is linked or renamed to its object. On ext4
// without a journal, making a file after many were removed scans past the
// recently removed ones (recently_deleted), which dominated the CPU of
// small pushes there: a session with a directory of its own, or a state
// file replaced by rename, removed one or more per blob.
//
// Where the filesystem keeps no attributes, a session is the directory
// <root>/<key> holding "data" and "state" (the JSON, replaced by rename).
// Sessions of that layout, and those of earlier builds (the directory's
// data with the attribute, or with a state file), resume as they were; a
// session that has both resumes from whichever is further along. A session
// the store started before the driver existed has data and no state: it
// resumes with the data's size and no caller state, and the caller
// rebuilds its hash from Reader. Sessions are not fsynced: a session lost
// to a power cut is one the client starts again; bytes are made durable
// when committed.

type upload struct {
	d     *Driver
	key   string
	path  string // <root>/<key>: the session's file, or its directory (inDir)
	inDir bool   // the directory layout: path/data, and its state attribute or path/state
	size  int64
	state []byte
}

// maxStateFile bounds what ResumeUpload reads of a state file: the JSON
// of a size and a caller's state of a few hundred bytes.
const maxStateFile = 1 << 20

type stateFile struct {
	Size  int64  `json:"size"`
	State []byte `json:"state"`
}

// StartUpload implements driver.Driver.
func (d *Driver) StartUpload(ctx context.Context, key string, state []byte) (driver.Upload, error) {
	p, err := d.path(ctx, key)
	if err != nil {
		return nil, err
	}
	u := &upload{d: d, key: key, path: p, inDir: d.noAttrs.Load()}
	if err := u.create(); err != nil {
		return nil, err
	}
	err = u.saveState(0, state)
	if errors.Is(err, errNoAttr) && !u.inDir { // attributes refused: the directory layout
		u.remove(false)
		u.inDir = true
		if err = u.create(); err != nil {
			return nil, err
		}
		err = u.saveState(0, state)
	}
	if err != nil {
		u.remove(false)
		return nil, err
	}
	return u, nil
}

// create makes the session's empty data file (and in the directory layout,
// its directory), and the uploads directory when it is missing.
func (u *upload) create() error {
	if u.inDir {
		if err := syscall.Mkdir(u.path, 0o755); err != nil && err != syscall.EEXIST {
			if err := os.MkdirAll(u.path, 0o755); err != nil {
				return err
			}
		}
	}
	const flags = syscall.O_CREAT | syscall.O_EXCL | syscall.O_WRONLY
	fd, err := openFile(u.dataPath(), flags, 0o644)
	if errors.Is(err, fs.ErrNotExist) && !u.inDir {
		if err := os.MkdirAll(filepath.Dir(u.path), 0o755); err != nil {
			return err
		}
		fd, err = openFile(u.dataPath(), flags, 0o644)
	}
	if errors.Is(err, fs.ErrExist) {
		return driver.Exists(u.key)
	}
	if err != nil {
		return err
	}
	return syscall.Close(fd)
}

// ResumeUpload implements driver.Driver.
func (d *Driver) ResumeUpload(ctx context.Context, key string) (driver.Upload, error) {
	p, err := d.path(ctx, key)
	if err != nil {
		return nil, err
	}
	u := &upload{d: d, key: key, path: p}
	st, err := os.Stat(p)
	if err == nil && st.IsDir() {
		u.inDir = true
		st, err = os.Stat(u.dataPath())
	}
	if err != nil || !st.Mode().IsRegular() {
		return nil, d.notFound(key, err)
	}
	u.size = st.Size()
	attr, err := getState(u.dataPath())
	if err != nil {
		return nil, d.notFound(key, err)
	}
	var file []byte
	if u.inDir {
		file, err = readSmall(filepath.Join(p, "state"), maxStateFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			file = nil
		case errors.Is(err, driver.ErrTooLarge):
			return nil, driver.NotFound(key) // not a state this driver wrote: unusable
		case err != nil:
			return nil, err
		}
	}
	if attr == nil && file == nil {
		if !u.inDir {
			return nil, driver.NotFound(key) // made, and its state never stored: unusable
		}
		return u, nil // a session from before the driver
	}
	var best *stateFile
	for _, b := range [][]byte{attr, file} {
		if b == nil {
			continue
		}
		var sf stateFile
		if err := json.Unmarshal(b, &sf); err != nil || sf.Size > st.Size() {
			return nil, driver.NotFound(key) // torn or inconsistent: unusable
		}
		if best == nil || sf.Size > best.Size {
			best = &sf
		}
	}
	u.size, u.state = best.Size, best.State
	return u, nil
}

func (u *upload) Key() string   { return u.key }
func (u *upload) Size() int64   { return u.size }
func (u *upload) State() []byte { return u.state }

func (u *upload) dataPath() string {
	if u.inDir {
		return filepath.Join(u.path, "data")
	}
	return u.path
}

// errNoAttr says a filesystem keeps no state attribute.
var errNoAttr = errors.New("no extended attribute for the session's state")

// saveState replaces the session's state: its data file's attribute, or
// in the directory layout where the filesystem keeps none, the state file,
// by rename from a temp file in the session's own directory (no shared
// directory to contend for). Where a file session's attribute is refused,
// the error wraps errNoAttr.
func (u *upload) saveState(size int64, state []byte) error {
	b, err := json.Marshal(stateFile{Size: size, State: state})
	if err != nil {
		return err
	}
	if !u.inDir || !u.d.noAttrs.Load() {
		err := setState(u.dataPath(), b)
		if err == nil {
			return nil
		}
		if errors.Is(err, syscall.ENOTSUP) {
			u.d.noAttrs.Store(true) // not on this filesystem: the directory layout from now on
		}
		if !errors.Is(err, errNoAttr) {
			return u.d.notFound(u.key, err)
		}
		if !u.inDir {
			return err // StartUpload moves to the directory layout; an Append fails
		}
		dropState(u.dataPath()) // a state file from now on: no older attribute beside it
	}
	p := tempName(u.path, "state.new-")
	fd, err := openFile(p, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0o644)
	if err != nil {
		return u.d.notFound(u.key, err)
	}
	t := &tempFile{fd: fd, path: p}
	defer t.discard()
	if _, err := u.d.copy(t, bytes.NewReader(b)); err != nil {
		return err
	}
	if err := syscall.Rename(p, filepath.Join(u.path, "state")); err != nil {
		return u.d.notFound(u.key, err)
	}
	t.path = ""
	return nil
}

// Append writes at the session's size (dropping bytes a failed or rival
// append left beyond it), then stores the new size with the state.
func (u *upload) Append(ctx context.Context, r io.Reader, state func(n int64) ([]byte, error)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fd, err := openFile(u.dataPath(), syscall.O_WRONLY, 0)
	if err != nil {
		return 0, u.d.notFound(u.key, err)
	}
	f := &tempFile{fd: fd}
	defer f.discard()
	if err := syscall.Ftruncate(fd, u.size); err != nil {
		return 0, err
	}
	if _, err := syscall.Seek(fd, u.size, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := u.d.copy(writeBehind(ctx, f, fd, u.size), driver.ContextReader(ctx, r))
	var st []byte
	if err == nil {
		st, err = state(n)
	}
	if err == nil {
		err = u.saveState(u.size+n, st)
	}
	if err != nil {
		syscall.Ftruncate(fd, u.size)
		return n, err
	}
	u.size += n
	u.state = st
	return n, nil
}

func (u *upload) Reader(ctx context.Context) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(u.dataPath())
	if err != nil {
		return nil, u.d.notFound(u.key, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, u.size), f}, nil
}

// Commit fsyncs the data, dates it now (a new object is young to garbage
// collection), and links it to dst (which never replaces anything) when
// exclusive, or renames it.
func (u *upload) Commit(ctx context.Context, dst string, opts driver.PutOptions) error {
	p, err := u.d.path(ctx, dst)
	if err != nil {
		return err
	}
	fd, err := openFile(u.dataPath(), syscall.O_RDWR, 0)
	if err != nil {
		return u.d.notFound(u.key, err)
	}
	err = syscall.Ftruncate(fd, u.size)
	if err == nil && opts.Verify != nil {
		err = opts.Verify(u.size)
	}
	if err == nil {
		err = u.d.syncFile(fd, u.dataPath())
	}
	syscall.Close(fd)
	if err != nil {
		return err
	}
	now := time.Now()
	if err := os.Chtimes(u.dataPath(), now, now); err != nil {
		return err
	}
	moved := false
	err = u.d.placeWith(p, dst, opts.IfNotExists, func() (bool, error) {
		if opts.IfNotExists {
			err := syscall.Link(u.dataPath(), p)
			return err == nil, err
		}
		err := syscall.Rename(u.dataPath(), p)
		moved = err == nil
		return false, err
	})
	if err != nil {
		return err // the session stands, state and all
	}
	dropState(p) // the object keeps no trace of its session (harmless if one stays)
	return u.remove(moved)
}

func (u *upload) Cancel(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Lstat(u.dataPath()); err != nil {
		return u.d.notFound(u.key, err)
	}
	return u.remove(false)
}

// remove deletes the session's files (data unless moved to its object
// already), and in the directory layout the directory once empty (the
// caller's own files there stay).
func (u *upload) remove(moved bool) error {
	if !u.inDir {
		if moved {
			return nil
		}
		if err := syscall.Unlink(u.path); err != nil && err != syscall.ENOENT {
			return err
		}
		return nil
	}
	names := []string{"state", "data"}
	if moved {
		names = names[:1]
	}
	for _, name := range names {
		p := filepath.Join(u.path, name)
		if err := syscall.Unlink(p); err != nil && err != syscall.ENOENT {
			return &fs.PathError{Op: "unlink", Path: p, Err: err}
		}
	}
	// Not synced: an upload session is not durable (see above).
	return u.d.prune(u.path, false)
}
