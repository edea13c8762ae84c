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
	po := checkedPut(data)
	if exclusive {
		po.SetMatchETagExcept("*")
	}
	_, err := d.core.PutObject(ctx, d.bucket, name, bytes.NewReader(data), int64(len(data)), "", "", po)
	return mapErr(key, err)
}

// putMultipart sends the full first part in first, then the rest of r, as
// a multipart upload completed only after Verify; aborted on any error.
// While one part is on the wire the next is read into a second buffer, so
// a write holds two parts of memory and keeps the connection busy.
func (d *Driver) putMultipart(ctx context.Context, key, name string, r io.Reader, first []byte, opts driver.PutOptions) (n int64, err error) {
	id, err := d.core.NewMultipartUpload(ctx, d.bucket, name, checkedUpload())
	if err != nil {
		return 0, mapErr(key, err)
	}
	defer func() {
		if err != nil {
			d.abort(name, id)
		}
	}()
	second := d.parts.get()
	defer d.parts.put(second)
	bufs := [2][]byte{first, *second}
	var parts []minio.CompletePart
	sent := d.sendPart(ctx, name, id, 1, first)
	n = int64(len(first))
	for cur := 1; ; cur ^= 1 {
		fill, rerr := io.ReadFull(r, bufs[cur])
		res := <-sent // the other buffer is free again
		if res.err != nil {
			return n, mapErr(key, res.err)
		}
		parts = append(parts, res.part)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return n + int64(fill), rerr
		}
		if fill == 0 {
			break
		}
		sent = d.sendPart(ctx, name, id, len(parts)+1, bufs[cur][:fill])
		n += int64(fill)
		if rerr != nil { // the last, shorter part is on its way
			res := <-sent
			if res.err != nil {
				return n, mapErr(key, res.err)
			}
			parts = append(parts, res.part)
			break
		}
	}
	if opts.Verify != nil {
		if err := opts.Verify(n); err != nil {
			return n, err
		}
	}
	return n, d.complete(ctx, key, name, id, parts, opts.IfNotExists)
}

type partResult struct {
	part minio.CompletePart
	err  error
}

// sendPart uploads one part in the background.
func (d *Driver) sendPart(ctx context.Context, name, id string, num int, data []byte) <-chan partResult {
	ch := make(chan partResult, 1)
	go func() {
		opts, sum := checkedPart(data)
		p, err := d.core.PutObjectPart(ctx, d.bucket, name, id, num,
			bytes.NewReader(data), int64(len(data)), opts)
		ch <- partResult{minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag, ChecksumCRC32C: sum}, err}
	}()
	return ch
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
