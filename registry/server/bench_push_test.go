package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opencontainers/go-digest"
)

// BenchmarkPushPaths measures, with the JSON access log on, the requests
// of a push through the handler chain: HEAD of a blob that exists (every
// layer of a re-push), a monolithic blob upload (POST ?digest=), and a
// manifest PUT of a manifest stored already (a re-push). allocs/op are
// the figures to watch; time includes fsync.
func BenchmarkPushPaths(b *testing.B) {
	h := benchServer(b, "info", "json").Handler()
	do := func(method, url string, body []byte, contentType string, want int) {
		req := httptest.NewRequest(method, url, bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			b.Fatalf("%s %s: %d %s", method, url, w.Code, w.Body)
		}
	}
	layer := []byte("a layer of the bench")
	ld := digest.FromBytes(layer)
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd := digest.FromBytes(config)
	do("POST", "/v2/bench/app/blobs/uploads/?digest="+ld.String(), layer, "application/octet-stream", http.StatusCreated)
	do("POST", "/v2/bench/app/blobs/uploads/?digest="+cd.String(), config, "application/octet-stream", http.StatusCreated)
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}`, cd, len(config), ld, len(layer)))
	const mt = "application/vnd.oci.image.manifest.v1+json"
	do("PUT", "/v2/bench/app/manifests/v1", manifest, mt, http.StatusCreated)

	b.Run("head-blob", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			do("HEAD", "/v2/bench/app/blobs/"+ld.String(), nil, "", http.StatusOK)
		}
	})
	b.Run("put-blob", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			data := []byte(fmt.Sprintf("blob %d", i))
			i++
			do("POST", "/v2/bench/app/blobs/uploads/?digest="+digest.FromBytes(data).String(), data, "application/octet-stream", http.StatusCreated)
		}
	})
	b.Run("repush-manifest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			do("PUT", "/v2/bench/app/manifests/v1", manifest, mt, http.StatusCreated)
		}
	})
}
