package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// List implements driver.Driver. It reads one directory at a time, in key
// order (a directory "a" sorts as "a/", after "a-b" and before "ab"), and
// skips whole directories that lie before opts.StartAfter.
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
	entries, err := os.ReadDir(filepath.Join(d.root, filepath.FromSlash(prefix)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	type item struct {
		key string
		e   fs.DirEntry
	}
	items := make([]item, 0, len(entries))
	for _, e := range entries {
		key := prefix + e.Name()
		if prefix == "" && e.Name() == tmpDir {
			continue
		}
		if e.IsDir() {
			key += "/"
		} else if !e.Type().IsRegular() {
			continue
		}
		items = append(items, item{key, e})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := it.e.IsDir()
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
			if empty(filepath.Join(d.root, filepath.FromSlash(it.key))) {
				continue
			}
			if err := fn(driver.Entry{Info: driver.Info{Key: it.key}, Dir: true}); err != nil {
				return err
			}
		default:
			info, err := it.e.Info()
			if err != nil {
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
func empty(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return true
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}
