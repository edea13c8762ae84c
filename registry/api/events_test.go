package api_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// loggedServer is a registry whose JSON log at level is kept.
func loggedServer(t *testing.T, level string) (*httptest.Server, *registrytest.LogBuffer) {
	t.Helper()
	r := registrytest.New(t, registrytest.Options{LogLevel: level})
	return r.Server, r.Logs
}

func send(t *testing.T, method, url string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// eventOf returns the one learner event of the lines, failing unless there
// is exactly one.
func eventOf(t *testing.T, lines []map[string]any) map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, l := range lines {
		if l["event"] != nil {
			evs = append(evs, l)
		}
	}
	if len(evs) != 1 {
		t.Fatalf("want one event, got %d: %v", len(evs), lines)
	}
	return evs[0]
}

func TestEventsTellWhatHappened(t *testing.T) {
	ts, logs := loggedServer(t, "debug")
	blob := []byte("a layer's bytes")
	d := fmt.Sprintf("sha256:%x", sha256.Sum256(blob))
	if r := send(t, "POST", ts.URL+"/v2/lab/a/blobs/uploads/?digest="+d, blob); r.StatusCode != 201 {
		t.Fatalf("monolithic upload: %d", r.StatusCode)
	}
	logs.Take(t)

	// The client that just committed the blob checks it: not "already exists".
	send(t, "HEAD", ts.URL+"/v2/lab/a/blobs/"+d, nil)
	if ev := eventOf(t, logs.Take(t)); ev["event"] != "blob_checked" || !strings.Contains(ev["msg"].(string), "just pushed") {
		t.Errorf("HEAD right after the commit: %v", ev)
	}
	// Asked again, it is a blob that is already here.
	send(t, "HEAD", ts.URL+"/v2/lab/a/blobs/"+d, nil)
	if ev := eventOf(t, logs.Take(t)); ev["event"] != "blob_exists" {
		t.Errorf("a second HEAD: %v", ev)
	}

	// A mount from a repository without the blob falls back to an upload, and says why.
	r := send(t, "POST", ts.URL+"/v2/lab/b/blobs/uploads/?mount="+d+"&from=lab/nothing", nil)
	if r.StatusCode != 202 {
		t.Fatalf("failed mount: %d, want 202", r.StatusCode)
	}
	ev := eventOf(t, logs.Take(t))
	if ev["event"] != "mount_fell_back" || ev["from"] != "lab/nothing" || !strings.Contains(ev["msg"].(string), "lab/nothing does not hold this blob") {
		t.Errorf("failed mount: %v", ev)
	}
	// The client cancels that session: the cancel is explained.
	send(t, "DELETE", ts.URL+r.Header.Get("Location"), nil)
	if ev := eventOf(t, logs.Take(t)); ev["event"] != "upload_cancelled" || !strings.Contains(ev["msg"].(string), "failed mount") {
		t.Errorf("cancel after a failed mount: %v", ev)
	}
	// A session opened plainly and cancelled is not said to come from a mount.
	r = send(t, "POST", ts.URL+"/v2/lab/b/blobs/uploads/", nil)
	logs.Take(t)
	send(t, "DELETE", ts.URL+r.Header.Get("Location"), nil)
	if ev := eventOf(t, logs.Take(t)); ev["event"] != "upload_cancelled" || strings.Contains(ev["msg"].(string), "mount") {
		t.Errorf("plain cancel: %v", ev)
	}
	// A mount that works.
	if r := send(t, "POST", ts.URL+"/v2/lab/b/blobs/uploads/?mount="+d+"&from=lab/a", nil); r.StatusCode != 201 {
		t.Fatalf("mount: %d", r.StatusCode)
	}
	if ev := eventOf(t, logs.Take(t)); ev["event"] != "blob_mounted" || ev["from"] != "lab/a" {
		t.Errorf("mount: %v", ev)
	}
}

func TestHealthProbesAreQuietUnlessAskedFor(t *testing.T) {
	for _, tc := range []struct {
		level string
		lines int
	}{{"debug", 0}, {"trace", 2}} {
		ts, logs := loggedServer(t, tc.level)
		send(t, "GET", ts.URL+"/readyz", nil)
		send(t, "GET", ts.URL+"/healthz", nil)
		if got := logs.Take(t); len(got) != tc.lines {
			t.Errorf("log level %s: %d lines for two probes, want %d: %v", tc.level, len(got), tc.lines, got)
		}
	}
}
