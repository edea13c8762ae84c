package server_test

import (
	"net/http"
	"testing"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// Behind a trusted balancer the per-client upload limit counts each client
// the balancer names, not the balancer; without trust every request is the
// balancer's own.
func TestUploadLimitBehindBalancer(t *testing.T) {
	t.Parallel()
	post := func(r *registrytest.Registry, client string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", r.URL+"/v2/lab/app/blobs/uploads/", nil)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		trusted string
		second  int // the other client's first session
	}{{"127.0.0.1", http.StatusAccepted}, {"", http.StatusTooManyRequests}} {
		r := registrytest.New(t, registrytest.Options{Config: func(cfg *config.Config) {
			cfg.MaxUploads, cfg.TrustedProxies = 1, c.trusted
		}})
		if got := post(r, "203.0.113.1"); got != http.StatusAccepted {
			t.Fatalf("trusted %q: first session: %d", c.trusted, got)
		}
		if got := post(r, "203.0.113.1"); got != http.StatusTooManyRequests {
			t.Fatalf("trusted %q: the same client's second session: %d, want 429", c.trusted, got)
		}
		if got := post(r, "203.0.113.2"); got != c.second {
			t.Fatalf("trusted %q: another client's session: %d, want %d", c.trusted, got, c.second)
		}
	}
}
