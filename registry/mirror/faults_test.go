package mirror_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/storage"
)

// bigImage pushes to the upstream an image of one layer of n random bytes
// and returns the layer's digest.
func bigImage(t *testing.T, up *upstream, repo string, n int) (digest.Digest, int64) {
	t.Helper()
	layer, err := random.Layer(int64(n), types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, up.Host, repo), img, up.auth(basicAuth)); err != nil {
		t.Fatal(err)
	}
	d, _ := layer.Digest()
	size, _ := layer.Size()
	return digest.Digest(d.String()), size
}

// TestUpstreamKilledMidBlob: the upstream drops the connection half-way
// through a blob. The client's download fails (short), the store holds no
// part of the blob and no upload session, and the next pull, with the
// upstream well again, succeeds.
func TestUpstreamKilledMidBlob(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, basicAuth)
	d, size := bigImage(t, up, "lab/big:1", 8<<20)
	m := mirrorOf(t, up.URL, nil)

	up.cutAfter.Store(3 << 20)
	start := time.Now()
	resp, err := http.Get(m.URL + "/v2/hub/lab/big/blobs/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil || n >= size {
		t.Fatalf("download through a cut upstream: %d bytes, %v; want it cut short", n, err)
	}
	t.Logf("cut download: %d bytes, %v, after %s", n, err, time.Since(start))
	waitFor(t, "the failed fetch ends", func() bool {
		ups, err := m.Store.Uploads(t.Context())
		return err == nil && len(ups) == 0
	})
	if _, ok := m.Store.BlobSize(t.Context(), d); ok {
		t.Fatal("a blob cut off upstream is in the store")
	}
	if strings.Contains(m.Logs.String(), `"mirror: blob fetched from upstream and cached"`) {
		t.Fatal("the cut fetch was logged as cached")
	}

	up.cutAfter.Store(0)
	img, err := remote.Image(ref(t, m.Host, "hub/lab/big:1"), noRetry)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("pull after the upstream recovered: %v", err)
	}
	if got, ok := m.Store.BlobSize(t.Context(), d); !ok || got != size {
		t.Fatalf("blob cached after the good pull: %d %v", got, ok)
	}
}

// TestUpstreamDown: with the upstream gone, what the mirror cached still
// pulls — the tag, due for its check (TTL 0), is served stale and logged
// as such — and what it never cached answers 503.
func TestUpstreamDown(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, basicAuth)
	bigImage(t, up, "lab/base:1.0", 1<<20)
	m := mirrorOf(t, up.URL, func(c *config.Config) { c.Mirror.TTL = 0 })
	img, err := remote.Image(ref(t, m.Host, "hub/lab/base:1.0"), noRetry)
	if err != nil || validate.Image(img) != nil {
		t.Fatalf("first pull: %v", err)
	}
	m.Logs.Take(t)
	up.Close()

	img, err = remote.Image(ref(t, m.Host, "hub/lab/base:1.0"), noRetry)
	if err != nil {
		t.Fatalf("pull with the upstream down: %v", err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("pull with the upstream down: %v", err)
	}
	lines := m.Logs.Take(t)
	warned := false
	for _, l := range lines {
		if l["level"] == "warning" && l["msg"] == "upstream down: serving a stale tag from the cache" && l["tag"] == "1.0" {
			warned = true
		}
	}
	ev := events(lines)
	if !warned || !has(ev, "mirror_stale") || has(ev, "mirror_miss") {
		t.Fatalf("stale tag: warned %v, events %v", warned, ev)
	}
	if tags, err := remote.List(m.Repo(t, "hub/lab/base"), noRetry); err != nil || len(tags) != 1 || tags[0] != "1.0" {
		t.Fatalf("tags with the upstream down: %v %v, want the cached 1.0", tags, err)
	}
	resp, err := http.Get(m.URL + "/v2/hub/lab/other/manifests/1.0")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "UNAVAILABLE") {
		t.Fatalf("uncached with the upstream down: %d %s, want 503 UNAVAILABLE", resp.StatusCode, body)
	}
}

// TestConcurrentPullsFetchOnce: 64 clients pull one uncached blob at the
// same moment; the upstream serves it once, every client gets it whole.
func TestConcurrentPullsFetchOnce(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, basicAuth)
	d, _ := bigImage(t, up, "lab/big:1", 4<<20)
	m := mirrorOf(t, up.URL, nil)
	up.delay.Store(int64(300 * time.Millisecond)) // all 64 arrive while the first fetch starts
	before := up.blobGets.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			resp, err := http.Get(m.URL + "/v2/hub/lab/big/blobs/" + d.String())
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			h := sha256.New()
			if _, err := io.Copy(h, resp.Body); err != nil {
				errs <- err
				return
			}
			if got := fmt.Sprintf("sha256:%x", h.Sum(nil)); resp.StatusCode != 200 || got != d.String() {
				errs <- fmt.Errorf("status %d, content %s", resp.StatusCode, got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := up.blobGets.Load() - before; n != 1 {
		t.Fatalf("the upstream served the blob %d times, want once", n)
	}
	if n := strings.Count(m.Logs.String(), `"event":"mirror_follow"`); n == 0 {
		t.Fatal("no client followed the first fetch")
	}
}

// TestEviction: cached manifests not pulled since the cutoff are deleted,
// garbage collection then frees their blobs, other repositories keep
// theirs, and the next pull fetches the image again.
func TestEviction(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, basicAuth)
	d, _ := bigImage(t, up, "lab/big:1", 1<<20)
	m := mirrorOf(t, up.URL, nil)
	img, err := remote.Image(ref(t, m.Host, "hub/lab/big:1"), noRetry)
	if err != nil || validate.Image(img) != nil {
		t.Fatal(err)
	}
	own, _ := random.Image(1024, 1)
	if err := remote.Write(ref(t, m.Host, "lab/own:1"), own, noRetry); err != nil {
		t.Fatal(err)
	}
	mirrored := func(n string) bool { return strings.HasPrefix(n, "hub/") }
	if evicted, err := m.Store.EvictIdle(t.Context(), mirrored, time.Now().Add(-time.Hour)); err != nil || len(evicted) != 0 {
		t.Fatalf("evicted what was just pulled: %v, %v", evicted, err)
	}
	evicted, err := m.Store.EvictIdle(t.Context(), mirrored, time.Now().Add(time.Hour))
	if err != nil || len(evicted) != 1 || evicted[0].Repository != "hub/lab/big" {
		t.Fatalf("evicted %v, %v", evicted, err)
	}
	if _, err := m.Store.GC(t.Context(), storage.GCOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Store.BlobSize(t.Context(), d); ok {
		t.Fatal("the evicted image's layer survived garbage collection")
	}
	if _, err := remote.Image(ref(t, m.Host, "lab/own:1"), noRetry); err != nil {
		t.Fatalf("the local image after eviction: %v", err)
	}
	img, err = remote.Image(ref(t, m.Host, "hub/lab/big:1"), noRetry)
	if err != nil || validate.Image(img) != nil {
		t.Fatalf("pull after eviction: %v", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}
