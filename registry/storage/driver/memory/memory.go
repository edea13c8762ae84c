// Package memory is a driver that keeps every object in memory: fast tests
// of the store, nothing durable. Several Drivers made with Share see one
// set of objects, as several processes see one bucket.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Driver is an in-memory driver.
type Driver struct{ b *backend }

type backend struct {
	mu      sync.Mutex
	objects map[string]object
}

type object struct {
	data []byte // never modified once stored: a write stores a new slice
	mod  time.Time
}

var _ driver.Driver = (*Driver)(nil)

// New returns an empty in-memory driver.
func New() *Driver { return &Driver{b: &backend{objects: map[string]object{}}} }

// Share returns another driver on the same objects.
func (d *Driver) Share() *Driver { return &Driver{b: d.b} }

func (d *Driver) get(key string) (object, bool) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	o, ok := d.b.objects[key]
	return o, ok
}

// Stat implements driver.Driver.
func (d *Driver) Stat(ctx context.Context, key string) (driver.Info, error) {
	if err := check(ctx, key); err != nil {
		return driver.Info{}, err
	}
	o, ok := d.get(key)
	if !ok {
		return driver.Info{}, driver.NotFound(key)
	}
	return driver.Info{Key: key, Size: int64(len(o.data)), ModTime: o.mod}, nil
}

// GetContent implements driver.Driver.
func (d *Driver) GetContent(ctx context.Context, key string, limit int64) ([]byte, error) {
	if err := check(ctx, key); err != nil {
		return nil, err
	}
	o, ok := d.get(key)
	if !ok {
		return nil, driver.NotFound(key)
	}
	if int64(len(o.data)) > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than %d: %w", key, len(o.data), limit, driver.ErrTooLarge)
	}
	return bytes.Clone(o.data), nil
}

// Open implements driver.Driver.
func (d *Driver) Open(ctx context.Context, key string) (driver.Reader, error) {
	if err := check(ctx, key); err != nil {
		return nil, err
	}
	o, ok := d.get(key)
	if !ok {
		return nil, driver.NotFound(key)
	}
	return &reader{Reader: bytes.NewReader(o.data), info: driver.Info{Key: key, Size: int64(len(o.data)), ModTime: o.mod}}, nil
}

type reader struct {
	*bytes.Reader
	info driver.Info
}

func (r *reader) Close() error      { return nil }
func (r *reader) Info() driver.Info { return r.info }

// Put implements driver.Driver.
func (d *Driver) Put(ctx context.Context, key string, r io.Reader, opts driver.PutOptions) (int64, error) {
	if err := check(ctx, key); err != nil {
		return 0, err
	}
	if opts.IfNotExists {
		if _, ok := d.get(key); ok {
			return 0, driver.Exists(key)
		}
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, driver.ContextReader(ctx, r))
	if err != nil {
		return n, err
	}
	if opts.Verify != nil {
		if err := opts.Verify(n); err != nil {
			return n, err
		}
	}
	return n, d.store(ctx, key, buf.Bytes(), opts.IfNotExists)
}

func (d *Driver) store(ctx context.Context, key string, data []byte, ifNotExists bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if _, ok := d.b.objects[key]; ok && ifNotExists {
		return driver.Exists(key)
	}
	d.b.objects[key] = object{data: data, mod: time.Now()}
	return nil
}

// Delete implements driver.Driver.
func (d *Driver) Delete(ctx context.Context, key string) error {
	if err := check(ctx, key); err != nil {
		return err
	}
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if _, ok := d.b.objects[key]; !ok {
		return driver.NotFound(key)
	}
	delete(d.b.objects, key)
	return nil
}

// List implements driver.Driver.
func (d *Driver) List(ctx context.Context, prefix string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	if !driver.ValidPrefix(prefix) {
		return &driver.KeyError{Key: prefix}
	}
	d.b.mu.Lock()
	var entries []driver.Entry
	seen := map[string]bool{}
	for k, o := range d.b.objects {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		e := driver.Entry{Info: driver.Info{Key: k, Size: int64(len(o.data)), ModTime: o.mod}}
		if rest := k[len(prefix):]; !opts.Recursive && strings.Contains(rest, "/") {
			dir := prefix + rest[:strings.Index(rest, "/")+1]
			if seen[dir] {
				continue
			}
			seen[dir] = true
			e = driver.Entry{Info: driver.Info{Key: dir}, Dir: true}
		}
		if e.Key > opts.StartAfter {
			entries = append(entries, e)
		}
	}
	d.b.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			if err == driver.ErrStop {
				return nil
			}
			return err
		}
	}
	return ctx.Err()
}

func check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return driver.CheckKey(key)
}

// Touch implements driver.Toucher.
func (d *Driver) Touch(ctx context.Context, key string) error {
	if err := check(ctx, key); err != nil {
		return err
	}
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	o, ok := d.b.objects[key]
	if !ok {
		return driver.NotFound(key)
	}
	o.mod = time.Now()
	d.b.objects[key] = o
	return nil
}
