package s3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Config locates a bucket.
type Config struct {
	// Endpoint is the service's URL, http://host:port or https://host.
	Endpoint string
	Bucket   string
	Region   string // "" lets the client ask the service
	// Prefix is prepended to every key ("" or a path ending in "/"), so
	// several stores can share a bucket.
	Prefix string
	// PathStyle addresses the bucket as endpoint/bucket rather than
	// bucket.endpoint (MinIO, SeaweedFS, versitygw and most local servers
	// want it).
	PathStyle bool
	// InsecureSkipVerify turns TLS certificate verification off.
	InsecureSkipVerify bool
	// AccessKey and SecretKey, when set, are used as they are; otherwise
	// credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the AWS
	// shared credentials file (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE) or
	// the instance's role.
	AccessKey, SecretKey string
	// PartSize is the size of the parts of a multipart upload, and the
	// memory one write holds: 16 MiB if 0, at least 5 MiB.
	PartSize int64
}

const (
	defaultPartSize = 16 << 20
	minPartSize     = 5 << 20 // S3's smallest part but the last
	maxPartSize     = 5 << 30 // S3's largest part, and largest single copy
)

// Driver stores objects in one bucket under a prefix.
type Driver struct {
	core     minio.Core
	bucket   string
	prefix   string
	partSize int64
	parts    *partPool
	pageSize int // keys per listing request (1000, S3's maximum; tests use fewer)
}

var _ driver.Driver = (*Driver)(nil)

// New connects to the bucket described by cfg. It does not check that the
// bucket answers: Ready does.
func New(cfg Config) (*Driver, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("s3 endpoint %q: want http://host[:port] or https://host[:port]", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	if cfg.Prefix != "" && !driver.ValidPrefix(cfg.Prefix) {
		return nil, fmt.Errorf("s3 prefix %q: want a relative path ending in /", cfg.Prefix)
	}
	part := cfg.PartSize
	if part == 0 {
		part = defaultPartSize
	}
	if part < minPartSize || part > maxPartSize {
		return nil, fmt.Errorf("s3 part size %d: want %d to %d bytes", part, minPartSize, maxPartSize)
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{},
		})
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	if cfg.InsecureSkipVerify {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        creds,
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", cfg.Endpoint, err)
	}
	return &Driver{core: minio.Core{Client: client}, bucket: cfg.Bucket, prefix: cfg.Prefix,
		partSize: part, parts: newPartPool(part), pageSize: 1000}, nil
}

// Ready reports whether the bucket answers.
func (d *Driver) Ready(ctx context.Context) error {
	ok, err := d.core.BucketExists(ctx, d.bucket)
	if err == nil && !ok {
		err = fmt.Errorf("bucket %s does not exist", d.bucket)
	}
	return err
}

// object checks key and returns the object's name in the bucket.
func (d *Driver) object(ctx context.Context, key string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := driver.CheckKey(key); err != nil {
		return "", err
	}
	return d.prefix + key, nil
}

// mapErr turns a missing object into ErrNotFound, a failed condition into
// ErrExist, and keeps the rest (with the service's message).
func mapErr(key string, err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey" || resp.Code == "NotFound":
		return driver.NotFound(key)
	case resp.StatusCode == http.StatusPreconditionFailed || resp.Code == "PreconditionFailed":
		return driver.Exists(key)
	}
	if unavailable(err) {
		return fmt.Errorf("s3 %s: %w: %w", key, driver.ErrUnavailable, err)
	}
	return fmt.Errorf("s3 %s: %w", key, err)
}

// unavailable reports whether err says the service was not reached or
// failed (a 5xx), rather than refusing the request.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	code := minio.ToErrorResponse(err).StatusCode
	return code == 0 || code >= 500
}

// Stat implements driver.Driver.
func (d *Driver) Stat(ctx context.Context, key string) (driver.Info, error) {
	name, err := d.object(ctx, key)
	if err != nil {
		return driver.Info{}, err
	}
	oi, err := d.core.StatObject(ctx, d.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return driver.Info{}, mapErr(key, err)
	}
	return driver.Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// GetContent implements driver.Driver.
func (d *Driver) GetContent(ctx context.Context, key string, limit int64) ([]byte, error) {
	name, err := d.object(ctx, key)
	if err != nil {
		return nil, err
	}
	body, oi, _, err := d.core.GetObject(ctx, d.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, mapErr(key, err)
	}
	defer body.Close()
	if oi.Size > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than %d: %w", key, oi.Size, limit, driver.ErrTooLarge)
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, mapErr(key, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", key, limit, driver.ErrTooLarge)
	}
	return b, nil
}

// Delete implements driver.Driver. S3 deletes a missing key silently, so
// Delete asks first: the store relies on ErrNotFound to tell who won a
// race of two deletes.
func (d *Driver) Delete(ctx context.Context, key string) error {
	if _, err := d.Stat(ctx, key); err != nil {
		return err
	}
	return mapErr(key, d.core.RemoveObject(ctx, d.bucket, d.prefix+key, minio.RemoveObjectOptions{}))
}

// DeleteMany implements driver.BatchDeleter with S3's DeleteObjects: up to
// 1,000 keys a request, where Delete costs a HEAD and a DELETE per key.
// S3 deletes a missing key silently, as DeleteMany skips it.
func (d *Driver) DeleteMany(ctx context.Context, keys []string) error {
	names := make([]string, 0, len(keys))
	for _, key := range keys {
		name, err := d.object(ctx, key)
		if err != nil {
			return err
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil
	}
	results, err := d.core.RemoveObjectsWithIter(ctx, d.bucket, func(yield func(minio.ObjectInfo) bool) {
		for _, name := range names {
			if !yield(minio.ObjectInfo{Key: name}) {
				return
			}
		}
	}, minio.RemoveObjectsOptions{})
	if err != nil {
		return err
	}
	for r := range results {
		if r.Err != nil && minio.ToErrorResponse(r.Err).Code != "NoSuchKey" {
			return mapErr(strings.TrimPrefix(r.ObjectName, d.prefix), r.Err)
		}
	}
	return ctx.Err()
}

// URL returns a presigned GET URL of the object, valid for expiry (for
// redirecting blob downloads to the service).
func (d *Driver) URL(ctx context.Context, key string, expiry time.Duration) (string, error) {
	name, err := d.object(ctx, key)
	if err != nil {
		return "", err
	}
	u, err := d.core.PresignedGetObject(ctx, d.bucket, name, expiry, nil)
	if err != nil {
		return "", mapErr(key, err)
	}
	return u.String(), nil
}

// List implements driver.Driver. It reads one page of ListObjectsV2 at a
// time; in a page, objects and common prefixes ("directories") come as two
// sorted lists, merged here into key order.
func (d *Driver) List(ctx context.Context, prefix string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	if !driver.ValidPrefix(prefix) {
		return &driver.KeyError{Key: prefix}
	}
	delimiter, startAfter, token := "/", "", ""
	if opts.Recursive {
		delimiter = ""
	}
	if opts.StartAfter > prefix {
		startAfter = d.prefix + opts.StartAfter
	}
	for {
		page, err := d.listPage(ctx, d.prefix+prefix, startAfter, token, delimiter)
		if err != nil && unavailable(err) {
			return fmt.Errorf("s3 list %s: %w: %w", prefix, driver.ErrUnavailable, err)
		}
		if err != nil {
			return fmt.Errorf("s3 list %s: %w", prefix, err)
		}
		for _, e := range d.merge(page) {
			if e.Key <= opts.StartAfter || !driver.ValidKey(strings.TrimSuffix(e.Key, "/")) || (e.Dir && opts.Recursive) {
				continue // before StartAfter, or a "directory marker" object
			}
			if err := fn(e); err != nil {
				if errors.Is(err, driver.ErrStop) {
					return nil
				}
				return err
			}
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return nil
		}
		token = page.NextContinuationToken
	}
}

// listPage asks for one page, giving up when ctx is done (the request then
// finishes in the background).
func (d *Driver) listPage(ctx context.Context, prefix, startAfter, token, delimiter string) (minio.ListBucketV2Result, error) {
	if err := ctx.Err(); err != nil {
		return minio.ListBucketV2Result{}, err
	}
	type result struct {
		page minio.ListBucketV2Result
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		page, err := d.core.ListObjectsV2(d.bucket, prefix, startAfter, token, delimiter, d.pageSize)
		ch <- result{page, err}
	}()
	select {
	case <-ctx.Done():
		return minio.ListBucketV2Result{}, ctx.Err()
	case r := <-ch:
		return r.page, r.err
	}
}

// merge returns a page's objects and directories in key order, as keys of
// the driver.
func (d *Driver) merge(page minio.ListBucketV2Result) []driver.Entry {
	out := make([]driver.Entry, 0, len(page.Contents)+len(page.CommonPrefixes))
	for _, o := range page.Contents {
		out = append(out, driver.Entry{Info: driver.Info{Key: strings.TrimPrefix(o.Key, d.prefix), Size: o.Size, ModTime: o.LastModified}})
	}
	for _, p := range page.CommonPrefixes {
		out = append(out, driver.Entry{Info: driver.Info{Key: strings.TrimPrefix(p.Prefix, d.prefix)}, Dir: true})
	}
	slices.SortFunc(out, func(a, b driver.Entry) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// AbortStale aborts the incomplete multipart uploads under the driver's
// prefix started more than olderThan ago, and returns how many.
func (d *Driver) AbortStale(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	n := 0
	for mu := range d.core.Client.ListIncompleteUploads(ctx, d.bucket, d.prefix, true) {
		if mu.Err != nil {
			return n, fmt.Errorf("s3 list multipart uploads: %w", mu.Err)
		}
		if mu.Initiated.After(cutoff) {
			continue
		}
		if err := d.core.AbortMultipartUpload(ctx, d.bucket, mu.Key, mu.UploadID); err != nil {
			return n, fmt.Errorf("s3 abort multipart upload of %s: %w", mu.Key, err)
		}
		n++
	}
	return n, nil
}
