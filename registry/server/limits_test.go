package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

func handlerWith(t *testing.T, edit func(*config.Config)) http.Handler {
	t.Helper()
	o := registrytest.Options{Config: edit}
	srv, _ := registrytest.NewServer(t, registrytest.Config(t, o), o)
	return srv.Handler()
}

func TestUploadSessionsPerClientAreBounded(t *testing.T) {
	t.Parallel()
	h := handlerWith(t, func(c *config.Config) { c.MaxUploads = 3 })
	start := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v2/lab/up/blobs/uploads/", nil)
		req.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for i := 0; i < 3; i++ {
		if w := start("10.0.0.1:1000"); w.Code != http.StatusAccepted {
			t.Fatalf("session %d: %d", i, w.Code)
		}
	}
	w := start("10.0.0.1:2000")
	var env struct{ Errors []struct{ Code string } }
	json.Unmarshal(w.Body.Bytes(), &env)
	if w.Code != http.StatusTooManyRequests || len(env.Errors) != 1 || env.Errors[0].Code != "TOOMANYREQUESTS" {
		t.Fatalf("fourth session: %d %s", w.Code, w.Body)
	}
	if w := start("10.0.0.2:1000"); w.Code != http.StatusAccepted {
		t.Fatalf("another client: %d", w.Code)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	off := handlerWith(t, func(c *config.Config) {})
	req := httptest.NewRequest("GET", "/v2/", nil)
	req.Header.Set("Origin", "https://ui.example")
	w := httptest.NewRecorder()
	off.ServeHTTP(w, req)
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS headers sent while CORS is off")
	}
	on := handlerWith(t, func(c *config.Config) { c.CORSOrigins = "https://ui.example" })
	w = httptest.NewRecorder()
	on.ServeHTTP(w, req)
	if w.Header().Get("Access-Control-Allow-Origin") != "https://ui.example" || !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "Docker-Content-Digest") {
		t.Fatalf("allowed origin: %v", w.Header())
	}
	pre := httptest.NewRequest("OPTIONS", "/v2/lab/app/manifests/1", nil)
	pre.Header.Set("Origin", "https://ui.example")
	pre.Header.Set("Access-Control-Request-Method", "DELETE")
	w = httptest.NewRecorder()
	on.ServeHTTP(w, pre)
	if w.Code != http.StatusNoContent || !strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "DELETE") {
		t.Fatalf("preflight: %d %v", w.Code, w.Header())
	}
	other := httptest.NewRequest("GET", "/v2/", nil)
	other.Header.Set("Origin", "https://evil.example")
	w = httptest.NewRecorder()
	on.ServeHTTP(w, other)
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("an origin not on the list was allowed")
	}
}

// TestUploadSessionLimitHoldsUnderConcurrency: 400 sessions started at
// once by one address open exactly the limit's worth.
func TestUploadSessionLimitHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	const limit = 20
	h := handlerWith(t, func(c *config.Config) { c.MaxUploads = limit })
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("POST", "/v2/lab/up/blobs/uploads/", nil)
			req.RemoteAddr = "10.0.0.1:1000"
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			switch w.Code {
			case http.StatusAccepted:
				accepted.Add(1)
			case http.StatusTooManyRequests:
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != limit || refused.Load() != 400-limit {
		t.Fatalf("400 concurrent starts with a limit of %d: %d sessions opened, %d refused", limit, accepted.Load(), refused.Load())
	}
}
