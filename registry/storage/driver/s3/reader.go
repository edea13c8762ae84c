package s3

import (
	"context"
	"errors"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Open implements driver.Driver: a HEAD now (so a missing object fails
// here, and the size is known), then one ranged GET from the offset of the
// first Read after each Seek; the body streams, nothing is buffered.
func (d *Driver) Open(ctx context.Context, key string) (driver.Reader, error) {
	name, err := d.object(ctx, key)
	if err != nil {
		return nil, err
	}
	oi, err := d.core.StatObject(ctx, d.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return nil, mapErr(key, err)
	}
	return &reader{ctx: ctx, d: d, name: name, etag: oi.ETag,
		info: driver.Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}}, nil
}

type reader struct {
	ctx  context.Context
	d    *Driver
	name string
	etag string
	info driver.Info
	off  int64
	body io.ReadCloser
}

func (r *reader) Info() driver.Info { return r.info }

func (r *reader) Read(p []byte) (int, error) {
	if r.off >= r.info.Size {
		return 0, io.EOF
	}
	if r.body == nil {
		var opts minio.GetObjectOptions
		if err := opts.SetRange(r.off, r.info.Size-1); err != nil {
			return 0, err
		}
		if r.etag != "" { // the object opened, not one that replaced it
			if err := opts.SetMatchETag(r.etag); err != nil {
				return 0, err
			}
		}
		body, _, _, err := r.d.core.GetObject(r.ctx, r.d.bucket, r.name, opts)
		if err != nil {
			return 0, mapErr(r.info.Key, err)
		}
		r.body = body
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	if err == io.EOF && r.off < r.info.Size {
		err = io.ErrUnexpectedEOF // the object changed or the connection broke
	}
	return n, err
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.info.Size
	}
	if offset < 0 {
		return r.off, errors.New("s3: seek before the start")
	}
	if offset != r.off && r.body != nil {
		r.body.Close()
		r.body = nil
	}
	r.off = offset
	return offset, nil
}

func (r *reader) Close() error {
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}
