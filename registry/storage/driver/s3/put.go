package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"

	"github.com/minio/minio-go/v7"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// partPool recycles part buffers: a write holds one at a time.
type partPool struct{ p sync.Pool }

func newPartPool(size int64) *partPool {
	return &partPool{p: sync.Pool{New: func() any { b := make([]byte, size); return &b }}}
}

func (p *partPool) get() *[]byte  { return p.p.Get().(*[]byte) }
func (p *partPool) put(b *[]byte) { p.p.Put(b) }

// Put implements driver.Driver.
func (d *Driver) Put(ctx context.Context, key string, r io.Reader, opts driver.PutOptions) (int64, error) {
	name, err := d.object(ctx, key)
	if err != nil {
		return 0, err
	}
	if opts.IfNotExists {
		if _, err := d.Stat(ctx, key); err == nil {
			return 0, driver.Exists(key)
		} else if !errors.Is(err, driver.ErrNotFound) {
			return 0, err
		}
	}
	buf := d.parts.get()
	defer d.parts.put(buf)
	r = driver.ContextReader(ctx, r)
	n, err := io.ReadFull(r, *buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF { // one part holds it all
		if opts.Verify != nil {
			if err := opts.Verify(int64(n)); err != nil {
				return int64(n), err
			}
		}
		return int64(n), d.putSmall(ctx, key, name, (*buf)[:n], opts.IfNotExists)
	}
	if err != nil {
		return int64(n), err
	}
	return d.putMultipart(ctx, key, name, r, *buf, opts)
}

// putSmall writes data with one PutObject.
func (d *Driver) putSmall(ctx context.Context, key, name string, data []byte, exclusive bool) error {
	var po minio.PutObjectOptions
	if exclusive {
		po.SetMatchETagExcept("*")
	}
	_, err := d.core.PutObject(ctx, d.bucket, name, bytes.NewReader(data), int64(len(data)), "", "", po)
	return mapErr(key, err)
}

// putMultipart sends the full first part in buf, then the rest of r, as a
// multipart upload completed only after Verify; aborted on any error.
func (d *Driver) putMultipart(ctx context.Context, key, name string, r io.Reader, buf []byte, opts driver.PutOptions) (n int64, err error) {
	id, err := d.core.NewMultipartUpload(ctx, d.bucket, name, minio.PutObjectOptions{})
	if err != nil {
		return 0, mapErr(key, err)
	}
	defer func() {
		if err != nil {
			d.abort(name, id)
		}
	}()
	var parts []minio.CompletePart
	fill, last := len(buf), false // the first part is full
	for {
		p, perr := d.core.PutObjectPart(ctx, d.bucket, name, id, len(parts)+1,
			bytes.NewReader(buf[:fill]), int64(fill), minio.PutObjectPartOptions{})
		if perr != nil {
			return n, mapErr(key, perr)
		}
		parts = append(parts, minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag})
		n += int64(fill)
		if last {
			break
		}
		fill, err = io.ReadFull(r, buf)
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			last = true
		} else if err != nil {
			return n + int64(fill), err
		}
	}
	err = nil
	if opts.Verify != nil {
		if err := opts.Verify(n); err != nil {
			return n, err
		}
	}
	return n, d.complete(ctx, key, name, id, parts, opts.IfNotExists)
}

// complete completes a multipart upload, with If-None-Match for an
// exclusive create.
func (d *Driver) complete(ctx context.Context, key, name, id string, parts []minio.CompletePart, exclusive bool) error {
	var po minio.PutObjectOptions
	if exclusive {
		po.SetMatchETagExcept("*")
	}
	_, err := d.core.CompleteMultipartUpload(ctx, d.bucket, name, id, parts, po)
	return mapErr(key, err)
}

// abort drops a multipart upload, even when the request's context is done.
func (d *Driver) abort(name, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeoutCleanup)
	defer cancel()
	_ = d.core.AbortMultipartUpload(ctx, d.bucket, name, id)
}
