package mirror_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// distribution starts the CNCF distribution registry (v3, the binary named
// by LAYERLAB_DISTRIBUTION: scripts/distribution.sh builds it) on a free
// 127.0.0.1 port, and returns its URL. Without the binary the test is
// skipped, unless LAYERLAB_DISTRIBUTION_REQUIRED is set.
func distribution(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("LAYERLAB_DISTRIBUTION")
	if bin == "" {
		if os.Getenv("LAYERLAB_DISTRIBUTION_REQUIRED") != "" {
			t.Fatal("LAYERLAB_DISTRIBUTION_REQUIRED is set but LAYERLAB_DISTRIBUTION is not")
		}
		t.Skip("LAYERLAB_DISTRIBUTION is not set: no distribution binary (bash scripts/mirror-e2e.sh builds one and runs this)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}
http: {addr: %s}
`, filepath.Join(dir, "data"), addr)), 0o600)
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr
	waitFor(t, "distribution answers", func() bool {
		resp, err := http.Get(url + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return url
}

// TestDistributionUpstream pulls an image and an index through the mirror
// from the CNCF distribution registry: a third upstream implementation.
func TestDistributionUpstream(t *testing.T) {
	t.Parallel()
	url := distribution(t)
	host := url[len("http://"):]
	img, _ := random.Image(4096, 3)
	idx, _ := random.Index(1024, 2, 3)
	if err := remote.Write(ref(t, host, "lab/base:1.0"), img); err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref(t, host, "lab/multi:v1"), idx); err != nil {
		t.Fatal(err)
	}
	m := mirrorOf(t, url, nil)
	for range 2 { // a miss, then a hit
		got, err := remote.Image(ref(t, m.Host, "hub/lab/base:1.0"), noRetry)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(got); err != nil {
			t.Fatalf("image through the mirror: %v", err)
		}
		gotIdx, err := remote.Index(ref(t, m.Host, "hub/lab/multi:v1"), noRetry)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(gotIdx); err != nil {
			t.Fatalf("index through the mirror: %v", err)
		}
	}
	want, _ := img.Digest()
	d, _, err := m.Store.ResolveManifest(t.Context(), "hub/lab/base", "1.0")
	if err != nil || d.String() != want.String() {
		t.Fatalf("cached tag: %s %v, want %s", d, err, want)
	}
}
