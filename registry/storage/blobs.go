package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// copyBufferSize is the unit of streaming: big enough for few syscalls,
// small enough that memory stays flat whatever the blob size.
const copyBufferSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// StatBlob returns the size of a blob the repository may serve.
func (s *Store) StatBlob(ctx context.Context, name string, d digest.Digest) (int64, error) {
	if !exists(s.layerLinkPath(name, d)) {
		return 0, fmt.Errorf("%s in %s: %w", d, name, ErrBlobUnknown)
	}
	st, err := os.Stat(s.blobPath(d))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("%s: %w", d, ErrBlobUnknown)
		}
		return 0, err
	}
	return st.Size(), nil
}

// OpenBlob opens a blob the repository may serve. The caller closes it.
func (s *Store) OpenBlob(ctx context.Context, name string, d digest.Digest) (*os.File, int64, error) {
	if !exists(s.layerLinkPath(name, d)) {
		return nil, 0, fmt.Errorf("%s in %s: %w", d, name, ErrBlobUnknown)
	}
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("%s: %w", d, ErrBlobUnknown)
		}
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// BlobSize returns the size of a blob anywhere in the store.
func (s *Store) BlobSize(ctx context.Context, d digest.Digest) (int64, bool) {
	st, err := os.Stat(s.blobPath(d))
	if err != nil {
		return 0, false
	}
	return st.Size(), true
}

// RepoHasBlob reports whether the repository links the blob (and it exists).
func (s *Store) RepoHasBlob(ctx context.Context, name string, d digest.Digest) bool {
	_, err := s.StatBlob(ctx, name, d)
	return err == nil
}

// LinkBlob lets the repository serve a blob that exists in the store.
func (s *Store) LinkBlob(ctx context.Context, name string, d digest.Digest) error {
	unlock, err := s.lockGC(false)
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.BlobSize(ctx, d); !ok {
		return fmt.Errorf("%s: %w", d, ErrBlobUnknown)
	}
	if err := s.touchBlob(ctx, d); err != nil {
		return err
	}
	link := s.layerLinkPath(name, d)
	if exists(link) {
		return s.touch(ctx, link)
	}
	return s.writeFileAtomic(ctx, link, []byte(d.String()))
}

// KeepFresh touches a blob a client just asked about (HEAD before a push
// that will skip uploading it), and the repository's link to it, unless
// touched within the last minute, so a collection running now keeps both.
func (s *Store) KeepFresh(ctx context.Context, name string, d digest.Digest) error {
	for _, path := range []string{s.blobPath(d), s.layerLinkPath(name, d)} {
		if st, err := os.Stat(path); err == nil && time.Since(st.ModTime()) > time.Minute {
			if err := s.touch(ctx, path); err != nil {
				return err
			}
		}
	}
	return nil
}

// touchBlob marks a blob as just used, so that a garbage collection running
// now treats it as new and keeps it. A mark that fails fails the operation
// relying on it: a collection could otherwise sweep the blob.
func (s *Store) touchBlob(ctx context.Context, d digest.Digest) error {
	err := s.touch(ctx, s.blobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", d, ErrBlobUnknown)
	}
	return err
}

// touch sets a file's times to now (a metadata write: WriteFault applies).
func (s *Store) touch(ctx context.Context, path string) error {
	if s.fault != nil {
		if err := s.fault(); err != nil {
			return err
		}
	}
	now := time.Now()
	return os.Chtimes(path, now, now)
}

// Mount links a blob into name from repository from; with from empty, any
// blob the store holds can be mounted (anonymous mount). It reports whether
// the blob was mounted.
func (s *Store) Mount(ctx context.Context, name, from string, d digest.Digest) (bool, error) {
	if from != "" && !s.RepoHasBlob(ctx, from, d) {
		return false, nil
	}
	if _, ok := s.BlobSize(ctx, d); !ok {
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
	link := s.layerLinkPath(name, d)
	if !exists(link) {
		return fmt.Errorf("%s in %s: %w", d, name, ErrBlobUnknown)
	}
	return s.removeDurably(ctx, link)
}

// PutBlob streams r into the store as one blob, verifying it against want
// (and against size when size >= 0) before it becomes visible, and links it
// into the repository. It returns the number of bytes read.
func (s *Store) PutBlob(ctx context.Context, name string, want digest.Digest, size int64, r io.Reader) (int64, error) {
	f, err := s.createTemp()
	if err != nil {
		return 0, err
	}
	h := newHash(want.Algorithm())
	n, err := copyHashed(s.writer(newFlushBehind(f, 0)), h, r)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return n, err
	}
	if got := digest.NewDigest(want.Algorithm(), h); got != want {
		f.Close()
		os.Remove(f.Name())
		return n, fmt.Errorf("computed %s, client said %s: %w", got, want, ErrDigestInvalid)
	}
	if size >= 0 && n != size {
		f.Close()
		os.Remove(f.Name())
		return n, fmt.Errorf("received %d bytes, client said %d: %w", n, size, ErrSizeInvalid)
	}
	if err := s.commitBlob(ctx, f, want); err != nil {
		return n, err
	}
	return n, s.LinkBlob(ctx, name, want)
}

// commitBlob moves a verified temp file into the blob tree. It links
// rather than renames, so an existing blob is never replaced: when another
// client won the race, both hold the same bytes and the temp file is dropped.
func (s *Store) commitBlob(ctx context.Context, f *os.File, d digest.Digest) error {
	defer os.Remove(f.Name())
	dst := s.blobPath(d)
	if exists(dst) {
		f.Close()
		return nil
	}
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	now := time.Now() // a new blob is young to garbage collection
	if err := os.Chtimes(f.Name(), now, now); err != nil {
		return err
	}
	st, err := os.Stat(f.Name())
	if err != nil {
		return err
	}
	err = os.Link(f.Name(), dst)
	if errors.Is(err, fs.ErrNotExist) {
		if err = s.mkdirAll(filepath.Dir(dst)); err == nil {
			err = os.Link(f.Name(), dst)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	s.stats.blobs.Add(1)
	s.stats.blobBytes.Add(st.Size())
	return s.syncDir(filepath.Dir(dst))
}

// writeBlob stores small bytes (a manifest) as a blob, if not there yet.
func (s *Store) writeBlob(ctx context.Context, d digest.Digest, data []byte) error {
	if _, ok := s.BlobSize(ctx, d); ok {
		return s.touchBlob(ctx, d)
	}
	f, err := s.tempWith(data)
	if err != nil {
		return err
	}
	return s.commitBlob(ctx, f, d)
}

// copyHashed copies r to w, feeding every byte to h as well.
func copyHashed(w io.Writer, h io.Writer, r io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var n int64
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			h.Write(buf[:m])
			if _, err := w.Write(buf[:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
