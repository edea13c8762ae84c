package server_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerlab/layerlab/registry/storage"
)

// scrape reads /metrics into name{labels} → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// family sums every series of a metric family.
func family(m map[string]float64, name string) (float64, bool) {
	sum, found := 0.0, false
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			sum += v
			found = true
		}
	}
	return sum, found
}

func TestMetricsMoveWithPushAndPull(t *testing.T) {
	t.Parallel()
	ts, _, _ := newTestServer(t, "info")
	before := scrape(t, ts.URL)
	for _, f := range []string{"registry_uploads_in_progress", "registry_blobs", "registry_storage_bytes", "registry_manifests", "registry_repositories"} {
		if _, ok := family(before, f); !ok {
			t.Errorf("metric family %s missing", f)
		}
	}
	defer func() {
		after := scrape(t, ts.URL)
		for _, f := range []string{"registry_http_requests_total", "registry_bytes_pushed_total", "registry_bytes_pulled_total",
			"registry_uploads_in_progress", "registry_blobs", "registry_storage_bytes", "registry_manifests", "registry_repositories"} {
			if _, ok := family(after, f); !ok {
				t.Errorf("metric family %s missing after requests", f)
			}
		}
	}()
	ref, _ := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/lab/metrics:1", name.Insecure)
	img, err := random.Image(10000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := pulled.Layers()
	rc, err = pl[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, rc)
	rc.Close()
	// A request is counted just after its response is sent: wait for the
	// last pull to be observed (bounded).
	var after map[string]float64
	for i := 0; i < 100; i++ {
		after = scrape(t, ts.URL)
		if after[`registry_http_requests_total{method="GET",route="blob.get",status="200"}`] >= 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	diff := func(f string) float64 {
		a, _ := family(after, f)
		b, _ := family(before, f)
		return a - b
	}
	if d := diff("registry_bytes_pushed_total"); d < 20000 {
		t.Errorf("bytes pushed moved by %v, want at least the two 10000-byte layers", d)
	}
	if d := diff("registry_bytes_pulled_total"); d < float64(n) {
		t.Errorf("bytes pulled moved by %v, pulled %d", d, n)
	}
	if d := diff("registry_blobs"); d != 4 { // 2 layers, config, manifest
		t.Errorf("registry_blobs moved by %v, want 4", d)
	}
	if d := diff("registry_manifests"); d != 1 {
		t.Errorf("registry_manifests moved by %v, want 1", d)
	}
	if d := diff("registry_repositories"); d != 1 {
		t.Errorf("registry_repositories moved by %v, want 1", d)
	}
	if d := diff("registry_storage_bytes"); d < 20000 {
		t.Errorf("registry_storage_bytes moved by %v", d)
	}
	if after[`registry_http_requests_total{method="PUT",route="manifest.put",status="201"}`] != 1 {
		t.Errorf("manifest.put 201 not counted once: %v", after)
	}
	if _, ok := family(after, "registry_http_request_duration_seconds_bucket"); !ok {
		t.Error("no request duration histogram")
	}
}

func TestMetricsFollowACollectionByAnotherProcess(t *testing.T) {
	t.Parallel()
	ts, _, root := newTestServer(t, "info")
	ref, _ := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/lab/gone:1", name.Insecure)
	img, err := random.Image(5000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if err := remote.Delete(ref.Context().Digest(d.String())); err != nil {
		t.Fatal(err)
	}
	before, _ := family(scrape(t, ts.URL), "registry_blobs")
	other, err := storage.Open(root, storage.Options{}) // as `registry gc` would
	if err != nil {
		t.Fatal(err)
	}
	res, err := other.GC(t.Context(), storage.GCOptions{})
	if err != nil || len(res.DeletedBlobs) != 4 {
		t.Fatalf("gc: %v, deleted %d blobs, want 4", err, len(res.DeletedBlobs))
	}
	for i := 0; i < 100; i++ {
		if now, _ := family(scrape(t, ts.URL), "registry_blobs"); now == before-4 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("registry_blobs did not follow the collection (was %v)", before)
}

// TestMetricsLabelsComeFromAClosedSet: methods a client makes up, on any
// path, before authentication, never become label values; /metrics stays
// the same size however many such requests arrive.
func TestMetricsLabelsComeFromAClosedSet(t *testing.T) {
	t.Parallel()
	ts, _, _ := newTestServer(t, "error")
	size := func() int {
		resp, err := http.Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return len(b)
	}
	send := func(i int) {
		method := "X" + strconv.Itoa(i) + strings.Repeat("M", 2000)
		for _, path := range []string{"/v2/", "/v2/lab/app/manifests/1", "/nowhere"} {
			req, _ := http.NewRequest(method, ts.URL+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	send(0)
	size() // the scrape's own series appear
	before := size()
	for i := 1; i <= 50; i++ {
		send(i)
	}
	after := size()
	m := scrape(t, ts.URL)
	for k := range m {
		if strings.Contains(k, "MMMM") {
			t.Fatalf("a client's method became a label: %.200s", k)
		}
	}
	other := 0.0
	for k, v := range m {
		if strings.HasPrefix(k, `registry_http_requests_total{method="other"`) {
			other += v
		}
	}
	if other != 153 {
		t.Errorf("made-up methods counted as method=\"other\": %v, want 153", other)
	}
	// The process collector's figures change length a little between scrapes.
	if after > before+512 {
		t.Fatalf("/metrics grew from %d to %d bytes with 150 made-up methods", before, after)
	}
}
