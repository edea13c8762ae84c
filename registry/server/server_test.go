package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// newTestServer starts the registry with a JSON logger at the given level.
func newTestServer(t *testing.T, level string) (*httptest.Server, *registrytest.LogBuffer, string) {
	t.Helper()
	r := registrytest.New(t, registrytest.Options{LogLevel: level})
	return r.Server, r.Logs, r.Root
}

// exchange is one request as the client saw it.
type exchange struct {
	method, path, requestID string
	status                  int
	sent, received          int64
}

// recorder is a client transport that adds a credential to every request
// and remembers what went over the wire.
type recorder struct {
	mu        sync.Mutex
	exchanges []exchange
	next      http.RoundTripper
}

const secret = "s3cr3t-t0ken-never-logged"

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Cookie", "session="+secret)
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	sent := req.ContentLength
	if sent < 0 {
		sent = 0
	}
	r.mu.Lock()
	r.exchanges = append(r.exchanges, exchange{req.Method, req.URL.Path, resp.Header.Get("X-Request-Id"),
		resp.StatusCode, sent, int64(len(body))})
	r.mu.Unlock()
	return resp, nil
}

func TestAccessLogOfPushAndPull(t *testing.T) {
	t.Parallel()
	ts, logs, _ := newTestServer(t, "info")
	rec := &recorder{next: http.DefaultTransport}
	ref, err := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/lab/app:1.0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(rec)); err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref, remote.WithTransport(rec))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Fatal(err)
	}
	// One error, so the error fields are checked too.
	resp, err := rec.RoundTrip(httptest.NewRequest("GET", ts.URL+"/v2/lab/app/manifests/missing", nil).WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// The line is written just after the response is sent: wait for the
	// last one (bounded).
	var access []map[string]any
	for i := 0; i < 100; i++ {
		access = access[:0]
		for _, l := range logs.Lines(t) {
			if l["msg"] == "request" {
				access = append(access, l)
			}
		}
		if len(access) >= len(rec.exchanges) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(access) != len(rec.exchanges) {
		t.Fatalf("%d requests made, %d access-log lines", len(rec.exchanges), len(access))
	}
	byID := map[string]map[string]any{}
	for _, l := range access {
		byID[fmt.Sprint(l["request_id"])] = l
	}
	for _, ex := range rec.exchanges {
		l, ok := byID[ex.requestID]
		if !ok || ex.requestID == "" {
			t.Fatalf("no access-log line with the request id %q of %s %s", ex.requestID, ex.method, ex.path)
		}
		for _, f := range []string{"time", "method", "path", "status", "bytes_in", "bytes_out", "duration_ms", "remote_addr", "user_agent", "level"} {
			if _, ok := l[f]; !ok {
				t.Errorf("%s %s: field %q missing in %v", ex.method, ex.path, f, l)
			}
		}
		if l["method"] != ex.method || l["path"] != ex.path {
			t.Errorf("line says %v %v, request was %s %s", l["method"], l["path"], ex.method, ex.path)
		}
		if int(l["status"].(float64)) != ex.status {
			t.Errorf("%s %s: logged status %v, client saw %d", ex.method, ex.path, l["status"], ex.status)
		}
		if ex.method != "HEAD" && int64(l["bytes_out"].(float64)) != ex.received {
			t.Errorf("%s %s: logged %v bytes out, client received %d", ex.method, ex.path, l["bytes_out"], ex.received)
		}
		if int64(l["bytes_in"].(float64)) != ex.sent {
			t.Errorf("%s %s: logged %v bytes in, client sent %d", ex.method, ex.path, l["bytes_in"], ex.sent)
		}
		if strings.HasPrefix(ex.path, "/v2/lab/app/") && l["repository"] != "lab/app" {
			t.Errorf("%s %s: repository %v", ex.method, ex.path, l["repository"])
		}
		if strings.Contains(ex.path, "/blobs/uploads/") && ex.method != "POST" && l["upload_id"] == nil {
			t.Errorf("%s %s: no upload_id", ex.method, ex.path)
		}
		if strings.Contains(ex.path, "/blobs/sha256:") && l["digest"] == nil {
			t.Errorf("%s %s: no digest", ex.method, ex.path)
		}
		if strings.Contains(ex.path, "/manifests/1.0") && l["reference"] != "1.0" {
			t.Errorf("%s %s: reference %v", ex.method, ex.path, l["reference"])
		}
		if ex.status >= 400 && (l["error_code"] == nil || l["error_message"] == nil) {
			t.Errorf("%s %s: status %d logged without error code and message: %v", ex.method, ex.path, ex.status, l)
		}
	}
	if byStatus := statuses(access); byStatus[404] == 0 || byStatus[201] == 0 || byStatus[202] == 0 || byStatus[200] == 0 {
		t.Errorf("statuses seen %v: want 200, 201, 202 and 404 among them", byStatus)
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("a credential reached the log")
	}
}

func statuses(lines []map[string]any) map[int]int {
	out := map[int]int{}
	for _, l := range lines {
		out[int(l["status"].(float64))]++
	}
	return out
}

func TestRequestIDFromClientIsKept(t *testing.T) {
	t.Parallel()
	ts, logs, _ := newTestServer(t, "info")
	req, _ := http.NewRequest("GET", ts.URL+"/v2/", nil)
	req.Header.Set("X-Request-Id", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "trace-42" {
		t.Fatalf("X-Request-Id echoed as %q", got)
	}
	req.Header.Set("X-Request-Id", "bad id\twith junk")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, "junk") {
		t.Fatalf("an unusable X-Request-Id should be replaced, got %q", got)
	}
	if !strings.Contains(logs.String(), `"request_id":"trace-42"`) {
		t.Fatal("the client's request id is not in the log")
	}
}

func TestLearnerEventsOfDerivedPush(t *testing.T) {
	t.Parallel()
	ts, logs, _ := newTestServer(t, "debug")
	host := strings.TrimPrefix(ts.URL, "http://")
	baseRef, _ := name.ParseReference(host+"/lab/base:1.0", name.Insecure)
	appRef, _ := name.ParseReference(host+"/lab/app:1.0", name.Insecure)
	base, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(baseRef, base); err != nil {
		t.Fatal(err)
	}
	// The derived image is built on the base as pulled from the registry,
	// so the client knows where its layers live and mounts them.
	remoteBase, err := remote.Image(baseRef)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := random.Layer(1024, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	app, err := mutate.AppendLayers(remoteBase, extra)
	if err != nil {
		t.Fatal(err)
	}
	start := len(logs.Lines(t))
	if err := remote.Write(appRef, app); err != nil {
		t.Fatal(err)
	}
	baseLayers := layerDigests(t, base)
	events := logs.Lines(t)[start:]
	reused := map[string]bool{}
	var pushed map[string]any
	for _, e := range events {
		switch e["event"] {
		case "blob_mounted", "blob_exists":
			reused[fmt.Sprint(e["digest"])] = true
			if e["request_id"] == nil {
				t.Errorf("event without request id: %v", e)
			}
		case "manifest_pushed":
			pushed = e
		}
	}
	for _, d := range baseLayers {
		if !reused[d] {
			t.Errorf("base layer %s: no 'mounted' or 'already exists' event; events: %v", d, events)
		}
	}
	if pushed == nil {
		t.Fatal("no manifest_pushed event")
	}
	if pushed["layers"] != float64(3) || pushed["shared"] != float64(2) {
		t.Errorf("manifest_pushed says layers=%v shared=%v, want 3 and 2", pushed["layers"], pushed["shared"])
	}
	if msg := fmt.Sprint(pushed["msg"]); !strings.Contains(msg, "lab/app:1.0") || !strings.Contains(msg, "2 shared with lab/base") {
		t.Errorf("manifest_pushed message %q", msg)
	}
	// Pushing the same image again uploads nothing: every blob already exists.
	start = len(logs.Lines(t))
	if err := remote.Write(appRef, app); err != nil {
		t.Fatal(err)
	}
	for _, e := range logs.Lines(t)[start:] {
		if e["event"] == "upload_started" || e["event"] == "blob_committed" {
			t.Errorf("re-push uploaded a blob: %v", e)
		}
	}
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	ts, _, root := newTestServer(t, "info")
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	// A storage root that cannot take a new file is not ready.
	tmp := filepath.Join(root, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with an unwritable root: %d, want 503", resp.StatusCode)
	}
}

func TestVerboseAccessLineShowsProtocolHeadersNotCredentials(t *testing.T) {
	t.Parallel()
	ts, logs, _ := newTestServer(t, "debug")
	req, _ := http.NewRequest("POST", ts.URL+"/v2/lab/h/blobs/uploads/", nil)
	req.Header.Set("Authorization", "Basic "+secret)
	req.Header.Set("Cookie", "token="+secret)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var line map[string]any
	for i := 0; i < 100 && line == nil; i++ {
		for _, l := range logs.Lines(t) {
			if l["msg"] == "request" {
				line = l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if line == nil {
		t.Fatal("no access line")
	}
	if line["req.accept"] != "application/json" || line["resp.location"] != resp.Header.Get("Location") || line["resp.docker-upload-uuid"] == nil {
		t.Errorf("protocol headers missing from the verbose access line: %v", line)
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("a credential reached the log")
	}
}
