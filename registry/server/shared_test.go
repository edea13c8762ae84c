package server_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/server"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// TestUploadAcrossProcesses: a chunked upload whose POST, PATCHes and PUT
// go to three registries sharing one store (a bucket) is committed with its
// digest verified, and every registry serves the blob; images and indexes
// pushed by go-containerregistry to one are pulled, verified, from another. On the memory
// driver always; on S3 when the environment names a server
// (scripts/s3-test.sh).
func TestUploadAcrossProcesses(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		m := memory.New()
		uploadAcross(t, func() driver.Driver { return m.Share() })
	})
	t.Run("s3", func(t *testing.T) {
		uploadAcross(t, registrytest.S3(t, "procs"))
	})
}

func uploadAcross(t *testing.T, newDriver func() driver.Driver) {
	urls := make([]string, 3)
	for i := range urls {
		store, err := storage.Open("", storage.Options{Driver: newDriver()})
		if err != nil {
			t.Fatal(err)
		}
		log, _ := accesslog.New(io.Discard, "error", "json")
		srv, err := server.NewWithStore(config.Defaults(), log, store)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		urls[i] = ts.URL
	}
	do := func(method, url string, body []byte, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	data := make([]byte, 11<<20)
	rand.Read(data)
	want := digest.FromBytes(data)
	resp := do("POST", urls[0]+"/v2/lab/app/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	const chunk = 5 << 20
	for i, off := 0, 0; off < 2*chunk; i, off = i+1, off+chunk {
		resp = do("PATCH", urls[1+i%2]+loc, data[off:off+chunk], "Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", off, off+chunk-1))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("PATCH %d to registry %d: %d", i, 1+i%2, resp.StatusCode)
		}
		loc = resp.Header.Get("Location")
	}
	sep := "?"
	if bytes.ContainsRune([]byte(loc), '?') {
		sep = "&"
	}
	bad := do("PUT", urls[2]+loc+sep+"digest="+digest.FromString("other").String(), data[2*chunk:], "Content-Type", "application/octet-stream")
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("PUT with a wrong digest: %d, want 400", bad.StatusCode)
	}
	resp = do("PUT", urls[2]+loc+sep+"digest="+want.String(), data[2*chunk:], "Content-Type", "application/octet-stream")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	// A real client pushes an image and an index to one registry and
	// pulls them, verified, from another.
	img, _ := random.Image(3<<20, 3)
	idx, _ := random.Index(1<<10, 2, 2)
	for _, w := range []struct {
		ref string
		put func(name.Reference) error
		get func(name.Reference) error
	}{
		{"lab/img:1", func(r name.Reference) error { return remote.Write(r, img) }, func(r name.Reference) error {
			got, err := remote.Image(r)
			if err == nil {
				err = validate.Image(got)
			}
			return err
		}},
		{"lab/idx:1", func(r name.Reference) error { return remote.WriteIndex(r, idx) }, func(r name.Reference) error {
			got, err := remote.Index(r)
			if err == nil {
				err = validate.Index(got)
			}
			return err
		}},
	} {
		push, _ := name.ParseReference(strings.TrimPrefix(urls[0], "http://")+"/"+w.ref, name.Insecure)
		pull, _ := name.ParseReference(strings.TrimPrefix(urls[1], "http://")+"/"+w.ref, name.Insecure)
		if err := w.put(push); err != nil {
			t.Fatalf("push %s: %v", w.ref, err)
		}
		if err := w.get(pull); err != nil {
			t.Fatalf("pull %s from another registry: %v", w.ref, err)
		}
	}
	for i, u := range urls {
		r, err := http.Get(u + "/v2/lab/app/blobs/" + want.String())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK || digest.FromBytes(got) != want {
			t.Fatalf("registry %d serves %d, %d bytes", i, r.StatusCode, len(got))
		}
	}
}
