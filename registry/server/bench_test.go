package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/server"
)

// BenchmarkManifestGet measures the handler chain on manifest GETs with the
// access log off, in JSON and in text: the cost of logging itself.
func BenchmarkManifestGet(b *testing.B) {
	for _, mode := range []struct{ name, level, format string }{
		{"log=off", "error", "json"},
		{"log=json", "info", "json"},
		{"log=text", "info", "text"},
	} {
		b.Run(mode.name, func(b *testing.B) {
			srv := benchServer(b, mode.level, mode.format)
			h := srv.Handler()
			d, _, err := srv.Store().PutManifest(b.Context(), "bench/app", "latest", v1.MediaTypeImageIndex,
				[]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), nil)
			if err != nil || d == "" {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/v2/bench/app/manifests/latest", nil)
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}

// benchServer is a server on a fresh root, logging at level in format to
// nowhere.
func benchServer(b *testing.B, level, format string) *server.Server {
	b.Helper()
	cfg := config.Defaults()
	cfg.Root = b.TempDir()
	log, err := accesslog.New(io.Discard, level, format)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	return srv
}
