package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// List implements driver.Driver. It reads one directory at a time, in key
// order (a directory "a" sorts as "a/", after "a-b" and before "ab"), and
// skips whole directories that lie before opts.StartAfter. A large
// directory's sorted entries are kept while it does not change (see
// dircache.go): a listing from StartAfter then costs what it lists.
func (d *Driver) List(ctx context.Context, prefix string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	if !driver.ValidPrefix(prefix) {
		return &driver.KeyError{Key: prefix}
	}
	err := d.list(ctx, prefix, opts, fn)
	if errors.Is(err, driver.ErrStop) {
		return nil
	}
	return err
}

func (d *Driver) list(ctx context.Context, prefix string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	items, err := d.sortedDir(filepath.Join(d.root, filepath.FromSlash(prefix)), prefix, !opts.Recursive)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	// Skip what sorts before StartAfter, but for the directory holding it.
	if first := sort.Search(len(items), func(i int) bool { return items[i].key > opts.StartAfter }); first > 0 {
		items = items[first-1:]
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := it.dir
		switch {
		case dir && opts.Recursive:
			// Every key below starts with it.key: skip the directory when
			// they all sort before StartAfter.
			if it.key <= opts.StartAfter && !strings.HasPrefix(opts.StartAfter, it.key) {
				continue
			}
			if err := d.list(ctx, it.key, opts, fn); err != nil {
				return err
			}
		case it.key <= opts.StartAfter:
		case dir:
			if !opts.EmptyDirs && empty(filepath.Join(d.root, filepath.FromSlash(it.key))) {
				continue
			}
			if err := fn(driver.Entry{Info: driver.Info{Key: it.key}, Dir: true}); err != nil {
				return err
			}
		case opts.KeysOnly:
			if err := fn(driver.Entry{Info: driver.Info{Key: it.key}}); err != nil {
				return err
			}
		default:
			info, err := os.Lstat(filepath.Join(d.root, filepath.FromSlash(it.key)))
			if err != nil || !info.Mode().IsRegular() {
				continue // removed while listing
			}
			if err := fn(driver.Entry{Info: driver.Info{Key: it.key, Size: info.Size(), ModTime: info.ModTime()}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// empty reports whether dir holds no entry (left by a race with a prune).
// A directory holding directories (a repository's, its _manifests) is
// known not to be from its link count alone.
func empty(dir string) bool {
	if holdsDirs(dir) {
		return false
	}
	found := false
	err := readDir(dir, func(string, bool, bool) bool {
		found = true
		return false
	})
	return err != nil || !found
}

// Stamp implements driver.Stamper: the directory's modification time,
// settled once it is older than the clock's granularity (see settled).
func (d *Driver) Stamp(ctx context.Context, prefix string) (int64, bool, error) {
	if !driver.ValidPrefix(prefix) {
		return 0, false, &driver.KeyError{Key: prefix}
	}
	info, err := os.Lstat(filepath.Join(d.root, filepath.FromSlash(prefix)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, false, driver.NotFound(prefix)
		}
		return 0, false, err
	}
	if !info.IsDir() {
		return 0, false, driver.NotFound(prefix)
	}
	return info.ModTime().UnixNano(), settled(info.ModTime(), time.Now()), nil
}
