package filesystem

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// mkdirAll creates dir and its missing parents, and makes each new
// directory's entry durable by syncing the directory that holds it — all
// of them at once, after the last mkdir: concurrent flushes share the
// journal's commits, where one after the other each waits for its own. A
// directory another commit is creating at the same moment is synced in its
// parent too, before anything is put in it — unless this process already
// made that entry durable (durableDirs; prune forgets what it removes).
func (d *Driver) mkdirAll(dir string) error {
	var made []string
	if err := d.mkdirs(dir, &made); err != nil {
		return err
	}
	if len(made) == 0 { // made durable already, by another commit of this process
		return nil
	}
	errs := make([]error, len(made))
	var wg sync.WaitGroup
	for i, p := range made[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i+1] = d.syncDir(filepath.Dir(p), "") }()
	}
	errs[0] = d.syncDir(filepath.Dir(made[0]), "")
	wg.Wait()
	for i, p := range made {
		if errs[i] != nil {
			return errs[i]
		}
		d.durableDirs.Store(p, struct{}{})
	}
	return nil
}

// mkdirs creates dir and its missing parents, adding to made each one
// whose entry must be synced in its parent.
func (d *Driver) mkdirs(dir string, made *[]string) error {
	err := syscall.Mkdir(dir, 0o755)
	if err == syscall.EEXIST {
		if _, ok := d.durableDirs.Load(dir); ok {
			return nil
		}
	}
	switch {
	case err == nil || err == syscall.EEXIST:
		*made = append(*made, dir)
		return nil
	case err == syscall.ENOENT && len(dir) > len(d.root):
		if err := d.mkdirs(filepath.Dir(dir), made); err != nil {
			return err
		}
		return d.mkdirs(dir, made)
	}
	return &fs.PathError{Op: "mkdir", Path: dir, Err: err}
}

// Touch dates the object at key now, without rewriting it: the store marks
// what a garbage collection running now must keep. It is a metadata write,
// so the WriteFault applies.
func (d *Driver) Touch(ctx context.Context, key string) error {
	p, err := d.path(ctx, key)
	if err != nil {
		return err
	}
	if d.fault != nil {
		if err := d.fault(); err != nil {
			return err
		}
	}
	now := time.Now()
	if err := os.Chtimes(p, now, now); err != nil {
		return d.notFound(key, err)
	}
	return nil
}

// readSmall reads a file of at most limit bytes with plain system calls.
func readSmall(path string, limit int64) ([]byte, error) {
	fd, err := openRead(path)
	if err != nil {
		return nil, err
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
		if err != nil { // EISDIR: a directory, not an object
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%s: %w", path, driver.ErrTooLarge)
		}
	}
}
