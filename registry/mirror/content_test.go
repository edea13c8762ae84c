package mirror_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerlab/layerlab/registry/storage"
)

// TestManifestCachedBeforeItsBlobs: a manifest pulled alone (its blobs not
// fetched yet) is ordinary content all the same: du, the query API and a
// garbage collection take it as it is, and its blobs come when pulled.
func TestManifestCachedBeforeItsBlobs(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, basicAuth)
	img, _ := random.Image(1024, 2)
	if err := remote.Write(ref(t, up.Host, "lab/base:1.0"), img, up.auth(basicAuth)); err != nil {
		t.Fatal(err)
	}
	m := mirrorOf(t, up.URL, nil)
	if _, err := remote.Get(ref(t, m.Host, "hub/lab/base:1.0"), noRetry); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Store.DiskUsage(t.Context()); err != nil {
		t.Fatalf("du: %v", err)
	}
	for _, path := range []string{"/api/images", "/v2/_catalog", "/v2/hub/lab/base/tags/list"} {
		resp, err := http.Get(m.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "1.0") && !strings.Contains(string(body), "hub/lab/base") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	if _, err := m.Store.GC(t.Context(), storage.GCOptions{}); err != nil {
		t.Fatalf("gc: %v", err)
	}
	got, err := remote.Image(ref(t, m.Host, "hub/lab/base:1.0"), noRetry)
	if err != nil {
		t.Fatal(err)
	}
	if layers, err := got.Layers(); err != nil || len(layers) != 2 {
		t.Fatalf("layers: %v", err)
	}
	for _, l := range must(got.Layers()) {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("layer after gc: %v", err)
		}
		rc.Close()
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
