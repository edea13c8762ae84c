package metrics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	dto "github.com/prometheus/client_model/go"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/api"
	"github.com/layerlab/layerlab/registry/storage"
)

func newMetrics(t *testing.T) (*Metrics, *storage.Store) {
	t.Helper()
	store, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(store), store
}

// value reads one series of a family from the registry: labels as
// name=value pairs; a counter's value, a gauge's, or a histogram's count.
func value(t *testing.T, m *Metrics, family string, labels ...string) float64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
		for _, s := range f.GetMetric() {
			if hasLabels(s, labels) {
				switch {
				case s.Counter != nil:
					return s.Counter.GetValue()
				case s.Gauge != nil:
					return s.Gauge.GetValue()
				case s.Histogram != nil:
					return float64(s.Histogram.GetSampleCount())
				}
			}
		}
		return 0
	}
	t.Fatalf("no metric family %s", family)
	return 0
}

func hasLabels(s *dto.Metric, labels []string) bool {
	want := map[string]string{}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		want[k] = v
	}
	n := 0
	for _, lp := range s.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

func observe(m *Metrics, method string, route api.Route, status int, in, out int64) {
	r := httptest.NewRequest(method, "/v2/", nil)
	m.Observe(r, &accesslog.Record{Route: string(route), Status: status, BytesIn: in, BytesOut: out}, 3*time.Millisecond)
}

func TestRequestsByRouteMethodStatus(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t)
	observe(m, "GET", api.RouteBlobGet, 200, 0, 10)
	observe(m, "GET", api.RouteBlobGet, 200, 0, 10)
	observe(m, "HEAD", api.RouteManifestGet, 404, 0, 0)
	observe(m, "BREW", "", 0, 0, 0)  // unknown method, no route, no status: closed labels
	observe(m, "GET", "", 999, 0, 0) // a status out of range
	cases := []struct {
		labels []string
		want   float64
	}{
		{[]string{"route=blob.get", "method=GET", "status=200"}, 2},
		{[]string{"route=manifest.get", "method=HEAD", "status=404"}, 1},
		{[]string{"route=other", "method=other", "status=other"}, 1},
		{[]string{"route=other", "method=GET", "status=other"}, 1},
	}
	for _, c := range cases {
		if got := value(t, m, "registry_http_requests_total", c.labels...); got != c.want {
			t.Errorf("requests %v = %v, want %v", c.labels, got, c.want)
		}
	}
	if got := value(t, m, "registry_http_request_duration_seconds", "route=blob.get", "method=GET"); got != 2 {
		t.Errorf("duration samples of blob.get GET = %v, want 2", got)
	}
}

func TestBytesPushedAndPulled(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t)
	for _, r := range []api.Route{api.RouteUploadStart, api.RouteUploadPatch, api.RouteUploadPut, api.RouteManifestPut} {
		observe(m, "PUT", r, 201, 100, 7) // bytes out of a push are not pulled bytes
	}
	observe(m, "GET", api.RouteBlobGet, 200, 5, 1000)
	observe(m, "GET", api.RouteManifestGet, 200, 0, 500)
	observe(m, "GET", api.RouteTagsList, 200, 0, 50)  // neither pushes nor pulls image bytes
	observe(m, "POST", api.RouteCatalog, 200, 40, 60) // neither
	if got := value(t, m, "registry_bytes_pushed_total"); got != 400 {
		t.Errorf("bytes pushed = %v, want 400", got)
	}
	if got := value(t, m, "registry_bytes_pulled_total"); got != 1500 {
		t.Errorf("bytes pulled = %v, want 1500", got)
	}
}

func TestStoreGaugesAndHandler(t *testing.T) {
	t.Parallel()
	m, store := newMetrics(t)
	blob := []byte("a layer")
	if _, err := store.PutBlob(t.Context(), "lab/app", digest.FromBytes(blob), int64(len(blob)), bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.StartUpload(t.Context(), "lab/app", digest.SHA256); err != nil {
		t.Fatal(err)
	}
	if got := value(t, m, "registry_blobs"); got != 1 {
		t.Errorf("registry_blobs = %v, want 1", got)
	}
	if got := value(t, m, "registry_storage_bytes"); got != float64(len(blob)) {
		t.Errorf("registry_storage_bytes = %v, want %d", got, len(blob))
	}
	if got := value(t, m, "registry_uploads_in_progress"); got != 1 {
		t.Errorf("registry_uploads_in_progress = %v, want 1", got)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK || !bytes.Contains(body, []byte("\nregistry_blobs 1\n")) || !bytes.Contains(body, []byte("go_goroutines")) {
		t.Errorf("handler: %d, want the store's gauges and the Go collector in:\n%.2000s", rec.Code, body)
	}
}

func TestMethodLabel(t *testing.T) {
	t.Parallel()
	for _, known := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		if got := Method(known); got != known {
			t.Errorf("Method(%q) = %q", known, got)
		}
	}
	for _, other := range []string{"get", "TRACE", "", strings.Repeat("X", 300)} {
		if got := Method(other); got != "other" {
			t.Errorf("Method(%.20q) = %q, want other", other, got)
		}
	}
}
