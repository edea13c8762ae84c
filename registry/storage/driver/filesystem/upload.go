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

// An upload session at key is the directory <root>/<key> holding "data"
// (the bytes so far) and its state (JSON: the size those bytes are known
// to have, and the caller's state), replaced whole after each append. The
// state is an extended attribute of the data file (user.layerlab.state),
// which the kernel replaces in one step; where the filesystem keeps none,
// it is the file "state", replaced by rename. The attribute spares every
// append a file made and one removed: on ext4 without a journal, making a
// file after many were removed scans past the recently removed ones
// (recently_deleted), which dominated the CPU of small pushes there. A
// session that has both (one written where attributes failed) resumes
// from whichever is further along. A session the store started before the
// driver existed has data and no state: it resumes with the data's size
// and no caller state, and the caller rebuilds its hash from Reader.
// Sessions are not fsynced: a session lost to a power cut is one the
// client starts again; bytes are made durable when committed.

type upload struct {
	d     *Driver
	key   string
	dir   string
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
	dir, err := d.path(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := syscall.Mkdir(dir, 0o755); err != nil && err != syscall.EEXIST {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	fd, err := openFile(filepath.Join(dir, "data"), syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, driver.Exists(key)
	}
	if err != nil {
		return nil, err
	}
	syscall.Close(fd)
	u := &upload{d: d, key: key, dir: dir}
	if err := u.saveState(0, state); err != nil {
		os.Remove(filepath.Join(dir, "data"))
		d.prune(dir, false)
		return nil, err
	}
	return u, nil
}

// ResumeUpload implements driver.Driver.
func (d *Driver) ResumeUpload(ctx context.Context, key string) (driver.Upload, error) {
	dir, err := d.path(ctx, key)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(filepath.Join(dir, "data"))
	if err != nil {
		return nil, d.notFound(key, err)
	}
	u := &upload{d: d, key: key, dir: dir, size: st.Size()}
	attr, err := getState(u.dataPath())
	if err != nil {
		return nil, d.notFound(key, err)
	}
	file, err := readSmall(filepath.Join(dir, "state"), maxStateFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		file = nil
	case errors.Is(err, driver.ErrTooLarge):
		return nil, driver.NotFound(key) // not a state this driver wrote: unusable
	case err != nil:
		return nil, err
	}
	if attr == nil && file == nil {
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

func (u *upload) dataPath() string { return filepath.Join(u.dir, "data") }

// errNoAttr says a filesystem keeps no state attribute.
var errNoAttr = errors.New("no extended attribute for the session's state")

// saveState replaces the session's state: its data file's attribute, or
// where the filesystem keeps none, the state file, by rename from a temp
// file in the session's own directory (no shared directory to contend
// for).
func (u *upload) saveState(size int64, state []byte) error {
	b, err := json.Marshal(stateFile{Size: size, State: state})
	if err != nil {
		return err
	}
	if !u.d.noAttrs.Load() {
		err := setState(u.dataPath(), b)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errNoAttr) {
			return u.d.notFound(u.key, err)
		}
		if errors.Is(err, syscall.ENOTSUP) {
			u.d.noAttrs.Store(true) // not on this filesystem: files from now on
		}
		dropState(u.dataPath()) // a state file from now on: no older attribute beside it
	}
	p := tempName(u.dir, "state.new-")
	fd, err := openFile(p, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY, 0o644)
	if err != nil {
		return u.d.notFound(u.key, err)
	}
	t := &tempFile{fd: fd, path: p}
	defer t.discard()
	if _, err := u.d.copy(t, bytes.NewReader(b)); err != nil {
		return err
	}
	if err := syscall.Rename(p, filepath.Join(u.dir, "state")); err != nil {
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
// already) and its directory once empty (the caller's own files there stay).
func (u *upload) remove(moved bool) error {
	names := []string{"state", "data"}
	if moved {
		names = names[:1]
	}
	for _, name := range names {
		if err := os.Remove(filepath.Join(u.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// Not synced: an upload session is not durable (see above).
	return u.d.prune(u.dir, false)
}
