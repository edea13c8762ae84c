package filesystem

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// commit gives the complete, flushed temp file t the name dst — a link
// that fails if dst exists when exclusive, an atomic replace otherwise —
// creating dst's directory if needed, and flushes the directory (shared
// with the commits that land there at the same time) before it returns.
func (d *Driver) commit(t *tempFile, dst, key string, exclusive bool) error {
	return d.placeWith(dst, key, exclusive, func() (bool, error) { return d.name(t, dst, exclusive) })
}

// placeWith runs place, which puts an object at dst and reports whether
// it created dst (rather than replacing it), until dst's directory exists,
// then flushes the directory. With exclusive, an object found at dst is
// made durable before ErrExist is returned: a caller that relies on it
// (a blob pushed twice at once) must not be answered before it is on disk.
func (d *Driver) placeWith(dst, key string, exclusive bool, place func() (bool, error)) error {
	dir := filepath.Dir(dst)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var created bool
		created, err = place()
		switch {
		case err == nil:
			if created && exclusive {
				return d.syncDir(dir, dst)
			}
			return d.syncDir(dir, "")
		case errors.Is(err, fs.ErrNotExist): // the directory is missing, or was pruned meanwhile
			if err = d.mkdirAll(dir); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist) && exclusive:
			if err := d.syncDir(dir, ""); err != nil {
				return err
			}
			if _, serr := os.Lstat(dst); serr == nil {
				return driver.Exists(key)
			}
			// Rolled back by a flush that failed: try again.
		default:
			return &fs.PathError{Op: "commit", Path: dst, Err: err}
		}
	}
	return err
}

// name links or renames the temp file to dst and reports whether dst was
// created (it did not exist).
func (d *Driver) name(t *tempFile, dst string, exclusive bool) (bool, error) {
	if exclusive {
		err := syscall.Link(t.path, dst) // the temp name is removed by discard
		return err == nil, err
	}
	if err := syscall.Rename(t.path, dst); err != nil {
		return false, err
	}
	t.path = ""
	return false, nil
}
