package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// checkBlob checks the repository name and digest a blob call names.
func checkBlob(name string, d digest.Digest) error {
	if err := checkName(name); err != nil {
		return err
	}
	return checkDigest(d)
}

// StatBlob returns the size of a blob the repository may serve.
func (s *Store) StatBlob(ctx context.Context, name string, d digest.Digest) (int64, error) {
	if err := checkBlob(name, d); err != nil {
		return 0, err
	}
	if _, err := s.d.Stat(ctx, layerLinkKey(name, d)); err != nil {
		return 0, notFound(err, ErrBlobUnknown, d.String()+" in "+name)
	}
	info, err := s.d.Stat(ctx, blobKey(d))
	if err != nil {
		return 0, notFound(err, ErrBlobUnknown, d.String())
	}
	return info.Size, nil
}

// OpenBlob opens a blob the repository may serve, for streaming reads with
// Seek (Range requests). The caller closes it; Info().Size is its size.
func (s *Store) OpenBlob(ctx context.Context, name string, d digest.Digest) (driver.Reader, error) {
	if err := checkBlob(name, d); err != nil {
		return nil, err
	}
	if _, err := s.d.Stat(ctx, layerLinkKey(name, d)); err != nil {
		return nil, notFound(err, ErrBlobUnknown, d.String()+" in "+name)
	}
	r, err := s.d.Open(ctx, blobKey(d))
	if err != nil {
		return nil, notFound(err, ErrBlobUnknown, d.String())
	}
	return r, nil
}

// BlobSize returns the size of a blob anywhere in the store.
func (s *Store) BlobSize(ctx context.Context, d digest.Digest) (int64, bool) {
	if checkDigest(d) != nil {
		return 0, false
	}
	info, err := s.d.Stat(ctx, blobKey(d))
	if err != nil {
		return 0, false
	}
	return info.Size, true
}

// RepoHasBlob reports whether the repository links the blob (and it exists).
func (s *Store) RepoHasBlob(ctx context.Context, name string, d digest.Digest) bool {
	_, err := s.StatBlob(ctx, name, d)
	return err == nil
}

// LinkBlob lets the repository serve a blob that exists in the store.
func (s *Store) LinkBlob(ctx context.Context, name string, d digest.Digest) error {
	if err := checkBlob(name, d); err != nil {
		return err
	}
	unlock, err := s.lockGC(false)
	if err != nil {
		return err
	}
	defer unlock()
	// The mark reports a missing blob as ErrBlobUnknown: no Stat before it.
	if err := s.touchBlob(ctx, d); err != nil {
		return err
	}
	link := layerLinkKey(name, d)
	if err := s.touch(ctx, link); !errors.Is(err, driver.ErrNotFound) {
		return err // linked already (nothing changed but a date), or failed
	}
	defer s.changed(ctx)
	return s.put(ctx, link, d.String())
}

// KeepFresh touches a blob a client just asked about (HEAD before a push
// that will skip uploading it), and the repository's link to it, unless
// touched within the last minute, so a collection running now keeps both.
func (s *Store) KeepFresh(ctx context.Context, name string, d digest.Digest) error {
	_, fresh, err := s.StatBlobFresh(ctx, name, d)
	if err != nil && !errors.Is(err, ErrBlobUnknown) {
		return err
	}
	return fresh
}

// StatBlobFresh is StatBlob and KeepFresh in one: it returns the size of a
// blob the repository may serve and, separately, the error of keeping it
// fresh (the answer stands without it), looking each object up once.
func (s *Store) StatBlobFresh(ctx context.Context, name string, d digest.Digest) (size int64, fresh, err error) {
	if err := checkBlob(name, d); err != nil {
		return 0, nil, err
	}
	link, err := s.d.Stat(ctx, layerLinkKey(name, d))
	if err != nil {
		return 0, nil, notFound(err, ErrBlobUnknown, d.String()+" in "+name)
	}
	blob, err := s.d.Stat(ctx, blobKey(d))
	if err != nil {
		return 0, nil, notFound(err, ErrBlobUnknown, d.String())
	}
	for _, info := range []driver.Info{blob, link} {
		if time.Since(info.ModTime) > time.Minute {
			if err := s.touch(ctx, info.Key); err != nil && !errors.Is(err, driver.ErrNotFound) {
				return blob.Size, err, nil
			}
		}
	}
	return blob.Size, nil, nil
}

// touchBlob marks a blob as just used, so that a garbage collection running
// now treats it as new and keeps it. A mark that fails fails the operation
// relying on it: a collection could otherwise sweep the blob.
func (s *Store) touchBlob(ctx context.Context, d digest.Digest) error {
	return notFound(s.touch(ctx, blobKey(d)), ErrBlobUnknown, d.String())
}

// touchReferenced marks a blob a manifest being stored references. Where
// a blob cannot be dated in place (S3), the repository's link to it is
// rewritten: a collection in another process, which sees neither this
// process's lock nor a new date on the blob, finds the young link and
// keeps the blob.
func (s *Store) touchReferenced(ctx context.Context, name string, d digest.Digest) error {
	if _, ok := s.d.(driver.Toucher); !ok {
		if err := s.touch(ctx, layerLinkKey(name, d)); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return err
		}
	}
	return s.touchBlob(ctx, d)
}

// touch dates an object now. A driver that cannot (S3) gets small objects
// rewritten; a blob there is dated by its repositories' links instead,
// which the caller touches too.
func (s *Store) touch(ctx context.Context, key string) error {
	if t, ok := s.d.(driver.Toucher); ok {
		return t.Touch(ctx, key)
	}
	if strings.HasPrefix(key, blobsPrefix) {
		_, err := s.d.Stat(ctx, key)
		return err
	}
	b, err := s.d.GetContent(ctx, key, maxDescriptorFile)
	if err != nil {
		return err
	}
	_, err = s.d.Put(ctx, key, strings.NewReader(string(b)), driver.PutOptions{})
	return err
}

// put replaces a small object (a link, a tag, a descriptor) atomically.
func (s *Store) put(ctx context.Context, key, content string) error {
	_, err := s.d.Put(ctx, key, strings.NewReader(content), driver.PutOptions{})
	return err
}

// Mount links a blob into name from repository from; with from empty, any
// blob the store holds can be mounted (anonymous mount). It reports whether
// the blob was mounted.
func (s *Store) Mount(ctx context.Context, name, from string, d digest.Digest) (bool, error) {
	if err := checkBlob(name, d); err != nil {
		return false, err
	}
	if from != "" && !s.RepoHasBlob(ctx, from, d) {
		return false, nil
	}
	if err := s.LinkBlob(ctx, name, d); err != nil {
		if errors.Is(err, ErrBlobUnknown) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// DeleteBlob removes the repository's link to a blob. The blob's bytes stay
// until garbage collection finds no repository referencing them.
func (s *Store) DeleteBlob(ctx context.Context, name string, d digest.Digest) error {
	if err := checkBlob(name, d); err != nil {
		return err
	}
	defer s.changed(ctx)
	return notFound(s.d.Delete(ctx, layerLinkKey(name, d)), ErrBlobUnknown, d.String()+" in "+name)
}

// PutBlob streams r into the store as one blob, verifying it against want
// (and against size when size >= 0) before it becomes visible, and links it
// into the repository. It returns the number of bytes read.
func (s *Store) PutBlob(ctx context.Context, name string, want digest.Digest, size int64, r io.Reader) (int64, error) {
	if err := checkBlob(name, want); err != nil {
		return 0, err
	}
	h := newHash(want.Algorithm())
	verified := false
	verify := func(n int64) error {
		verified = true
		if err := verifyHash(h, want); err != nil {
			return err
		}
		if size >= 0 && n != size {
			return fmt.Errorf("received %d bytes, client said %d: %w", n, size, ErrSizeInvalid)
		}
		return nil
	}
	n, err := s.d.Put(ctx, blobKey(want), io.TeeReader(r, h), driver.PutOptions{IfNotExists: true, Verify: verify})
	switch {
	case errors.Is(err, driver.ErrExist) && !verified:
		// Stored already, and the driver said so before reading the body:
		// read and check it all the same, the client's digest is not trusted.
		m, err := io.Copy(h, r)
		if n += m; err != nil {
			return n, err
		}
		if err := verify(n); err != nil {
			return n, err
		}
	case errors.Is(err, driver.ErrExist): // another push stored it first
	case err != nil:
		return n, err
	default:
		s.stats.blobs.Add(1)
		s.stats.blobBytes.Add(n)
	}
	return n, s.LinkBlob(ctx, name, want)
}

// writeBlob stores small bytes (a manifest) as a blob, if not there yet.
func (s *Store) writeBlob(ctx context.Context, d digest.Digest, data []byte) error {
	if _, ok := s.BlobSize(ctx, d); ok {
		return s.touchBlob(ctx, d)
	}
	_, err := s.d.Put(ctx, blobKey(d), bytes.NewReader(data), driver.PutOptions{IfNotExists: true})
	if errors.Is(err, driver.ErrExist) {
		return s.touchBlob(ctx, d)
	}
	if err == nil {
		s.stats.blobs.Add(1)
		s.stats.blobBytes.Add(int64(len(data)))
	}
	return err
}

// BlobURL returns a URL the client can fetch the blob from directly, valid
// for expiry (a presigned S3 GET), when the driver can make one; otherwise
// ErrUnsupported.
func (s *Store) BlobURL(ctx context.Context, name string, d digest.Digest, expiry time.Duration) (string, error) {
	u, ok := s.d.(interface {
		URL(ctx context.Context, key string, expiry time.Duration) (string, error)
	})
	if !ok {
		return "", ErrUnsupported
	}
	if _, err := s.StatBlob(ctx, name, d); err != nil {
		return "", err
	}
	return u.URL(ctx, blobKey(d), expiry)
}
