package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// sessionCounter is a driver that counts the bytes appended to upload
// sessions (on S3: written into the session, then copied into place).
type sessionCounter struct {
	driver.Driver
	appended *atomic.Int64
}

func (c sessionCounter) StartUpload(ctx context.Context, key string, state []byte) (driver.Upload, error) {
	u, err := c.Driver.StartUpload(ctx, key, state)
	return countedUpload{u, c.appended}, err
}

func (c sessionCounter) ResumeUpload(ctx context.Context, key string) (driver.Upload, error) {
	u, err := c.Driver.ResumeUpload(ctx, key)
	return countedUpload{u, c.appended}, err
}

type countedUpload struct {
	driver.Upload
	appended *atomic.Int64
}

func (u countedUpload) Append(ctx context.Context, r io.Reader, state func(int64) ([]byte, error)) (int64, error) {
	return u.Upload.Append(ctx, io.TeeReader(r, counter{u.appended}), state)
}

type counter struct{ n *atomic.Int64 }

func (c counter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// TestWholeBlobInClosingPut: POST, then a PUT ?digest= carrying the whole
// blob: on object storage the bytes go straight to the blob's key, never
// into the session (which S3 would then copy into place); a wrong digest
// stores nothing and leaves the session as it was.
func TestWholeBlobInClosingPut(t *testing.T) {
	ctx := t.Context()
	var appended atomic.Int64
	s, err := storage.Open("", storage.Options{Driver: sessionCounter{memory.New(), &appended}})
	if err != nil {
		t.Fatal(err)
	}
	data := registrytest.RandomBytes(t, 3<<20)
	want := digest.FromBytes(data)
	id, err := s.StartUpload(ctx, "lab/app", digest.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishUpload(ctx, "lab/app", id, digest.FromString("wrong"), 0, int64(len(data)), bytes.NewReader(data)); !errors.Is(err, storage.ErrDigestInvalid) {
		t.Fatalf("wrong digest: %v", err)
	}
	if n, err := s.UploadStatus(ctx, "lab/app", id); err != nil || n != 0 {
		t.Fatalf("session after the refused PUT: %d, %v; want it empty and open", n, err)
	}
	if _, ok := s.BlobSize(ctx, digest.FromString("wrong")); ok {
		t.Fatal("a blob was stored under the wrong digest")
	}
	if n, err := s.FinishUpload(ctx, "lab/app", id, want, 0, int64(len(data)), bytes.NewReader(data)); err != nil || n != int64(len(data)) {
		t.Fatalf("PUT: %d, %v", n, err)
	}
	wantBlob(t, s, "lab/app", want, data)
	if appended.Load() != 0 {
		t.Errorf("%d bytes went through the upload session; want none (straight to the blob)", appended.Load())
	}
	if _, err := s.UploadStatus(ctx, "lab/app", id); !errors.Is(err, storage.ErrUploadUnknown) {
		t.Errorf("session after the PUT: %v; want it gone", err)
	}
}
