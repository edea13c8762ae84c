package memory

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// An upload session at key is two objects: key/data and key/state.

type upload struct {
	d     *Driver
	key   string
	size  int64
	state []byte
}

// StartUpload implements driver.Driver.
func (d *Driver) StartUpload(ctx context.Context, key string, state []byte) (driver.Upload, error) {
	if err := check(ctx, key); err != nil {
		return nil, err
	}
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	if _, ok := d.b.objects[key+"/state"]; ok {
		return nil, driver.Exists(key)
	}
	d.b.objects[key+"/data"] = object{mod: time.Now()}
	d.b.objects[key+"/state"] = object{data: bytes.Clone(state), mod: time.Now()}
	return &upload{d: d, key: key, state: bytes.Clone(state)}, nil
}

// ResumeUpload implements driver.Driver.
func (d *Driver) ResumeUpload(ctx context.Context, key string) (driver.Upload, error) {
	if err := check(ctx, key); err != nil {
		return nil, err
	}
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	st, ok := d.b.objects[key+"/state"]
	data, ok2 := d.b.objects[key+"/data"]
	if !ok || !ok2 {
		return nil, driver.NotFound(key)
	}
	return &upload{d: d, key: key, size: int64(len(data.data)), state: bytes.Clone(st.data)}, nil
}

func (u *upload) Key() string   { return u.key }
func (u *upload) Size() int64   { return u.size }
func (u *upload) State() []byte { return u.state }

func (u *upload) Append(ctx context.Context, r io.Reader, state func(n int64) ([]byte, error)) (int64, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, driver.ContextReader(ctx, r))
	if err != nil {
		return n, err
	}
	st, err := state(n)
	if err != nil {
		return n, err
	}
	b := u.d.b
	b.mu.Lock()
	defer b.mu.Unlock()
	old, ok := b.objects[u.key+"/data"]
	if !ok || int64(len(old.data)) < u.size {
		return n, driver.NotFound(u.key)
	}
	data := append(bytes.Clone(old.data[:u.size]), buf.Bytes()...)
	b.objects[u.key+"/data"] = object{data: data, mod: time.Now()}
	b.objects[u.key+"/state"] = object{data: bytes.Clone(st), mod: time.Now()}
	u.size, u.state = int64(len(data)), st
	return n, nil
}

func (u *upload) Reader(ctx context.Context) (io.ReadCloser, error) {
	o, ok := u.d.get(u.key + "/data")
	if !ok || int64(len(o.data)) < u.size {
		return nil, driver.NotFound(u.key)
	}
	return io.NopCloser(bytes.NewReader(o.data[:u.size])), nil
}

func (u *upload) Commit(ctx context.Context, dst string, opts driver.PutOptions) error {
	if err := check(ctx, dst); err != nil {
		return err
	}
	b := u.d.b
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[u.key+"/data"]
	if !ok || int64(len(o.data)) < u.size {
		return driver.NotFound(u.key)
	}
	if _, ok := b.objects[dst]; ok && opts.IfNotExists {
		return driver.Exists(dst)
	}
	if opts.Verify != nil {
		if err := opts.Verify(u.size); err != nil {
			return err
		}
	}
	b.objects[dst] = object{data: o.data[:u.size], mod: time.Now()}
	delete(b.objects, u.key+"/data")
	delete(b.objects, u.key+"/state")
	return nil
}

func (u *upload) Cancel(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := u.d.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[u.key+"/state"]; !ok {
		return driver.NotFound(u.key)
	}
	delete(b.objects, u.key+"/data")
	delete(b.objects, u.key+"/state")
	return nil
}
