package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/server"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// flakyDriver is a driver whose backing store can be switched off: every
// call then fails as an S3 endpoint that does not answer does.
type flakyDriver struct {
	driver.Driver
	down atomic.Bool
}

func (f *flakyDriver) err(key string) error {
	if f.down.Load() {
		return fmt.Errorf("s3 %s: %w: dial tcp 127.0.0.1:1: connection refused", key, driver.ErrUnavailable)
	}
	return nil
}

func (f *flakyDriver) Ready(context.Context) error { return f.err("") }

func (f *flakyDriver) Stat(ctx context.Context, key string) (driver.Info, error) {
	if err := f.err(key); err != nil {
		return driver.Info{}, err
	}
	return f.Driver.Stat(ctx, key)
}

func (f *flakyDriver) GetContent(ctx context.Context, key string, limit int64) ([]byte, error) {
	if err := f.err(key); err != nil {
		return nil, err
	}
	return f.Driver.GetContent(ctx, key, limit)
}

func (f *flakyDriver) Put(ctx context.Context, key string, r io.Reader, opts driver.PutOptions) (int64, error) {
	if err := f.err(key); err != nil {
		return 0, err
	}
	return f.Driver.Put(ctx, key, r, opts)
}

func (f *flakyDriver) List(ctx context.Context, prefix string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	if err := f.err(prefix); err != nil {
		return err
	}
	return f.Driver.List(ctx, prefix, opts, fn)
}

func (f *flakyDriver) StartUpload(ctx context.Context, key string, state []byte) (driver.Upload, error) {
	if err := f.err(key); err != nil {
		return nil, err
	}
	return f.Driver.StartUpload(ctx, key, state)
}

// TestStorageUnavailable: with the object store down, requests get 503
// UNAVAILABLE (not 500), /readyz says not ready and the log names the
// cause; when it answers again, so does the registry, with what it held.
func TestStorageUnavailable(t *testing.T) {
	fd := &flakyDriver{Driver: memory.New()}
	store, err := storage.Open("", storage.Options{Driver: fd})
	if err != nil {
		t.Fatal(err)
	}
	logs := &registrytest.LogBuffer{}
	log, _ := accesslog.New(logs, "info", "json")
	cfg := config.Defaults()
	srv, err := server.NewWithStore(cfg, log, store)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	push := func() *http.Response {
		resp, err := http.Post(ts.URL+"/v2/lab/app/blobs/uploads/?digest=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
			"application/octet-stream", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := push(); resp.StatusCode != http.StatusCreated {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	fd.down.Store(true)
	for _, req := range []struct{ method, path string }{
		{"GET", "/v2/lab/app/blobs/sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
		{"GET", "/v2/lab/app/tags/list"},
		{"GET", "/v2/lab/app/manifests/v1"},
		{"POST", "/v2/lab/app/blobs/uploads/"},
	} {
		registrytest.WantError(t, req.method, ts.URL+req.path, nil, http.StatusServiceUnavailable, "UNAVAILABLE")
	}
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with the store down: %d", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the log does not say why: %s", logs.String())
	}
	fd.down.Store(false)
	if resp := push(); resp.StatusCode != http.StatusCreated {
		t.Fatalf("push once the store is back: %d", resp.StatusCode)
	}
	if _, err := store.StatBlob(t.Context(), "lab/app", "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"); err != nil {
		t.Fatalf("the blob pushed before the outage: %v", err)
	}
}
