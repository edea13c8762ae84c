package accesslog

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An access line in text says each thing once; in JSON every field stays.
func TestTextAccessLineSaysEachThingOnce(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const ua = "docker/20.10.24 go/go1.19.8 git-commit/5d6db84 kernel/6.1.0 os/linux arch/amd64 UpstreamClient(Docker-Client/20.10.24 \\(linux\\))"
	line := func(format, level string) string {
		var out bytes.Buffer
		l, err := New(&out, level, format)
		if err != nil {
			t.Fatal(err)
		}
		h := Middleware(l, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := From(r.Context())
			rec.Route, rec.Repository, rec.Digest = "blob.get", "lab/base", d
			rec.ErrCode, rec.ErrMessage, rec.ErrDetail = "BLOB_UNKNOWN", "blob unknown to registry", "not in lab/base"
			w.Header().Set("Docker-Content-Digest", d)
			w.WriteHeader(404)
		}))
		req := httptest.NewRequest("HEAD", "/v2/lab/base/blobs/"+d, nil)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		h.ServeHTTP(httptest.NewRecorder(), req)
		return out.String()
	}
	text := line("text", "debug")
	if n := strings.Count(text, "sha256:01234567…cdef"); n != 1 || strings.Contains(text, d) {
		t.Errorf("text line names the digest %d times, want once and shortened: %s", n, text)
	}
	for _, gone := range []string{"route=", "repository=", "resp.docker-content-digest=", "UpstreamClient", "error_message=", "application/vnd.", "req.accept="} {
		if strings.Contains(text, gone) {
			t.Errorf("text line still has %q: %s", gone, text)
		}
	}
	for _, kept := range []string{"user_agent=docker/20.10.24", "error_code=BLOB_UNKNOWN", `error_detail="not in lab/base"`} {
		if !strings.Contains(text, kept) {
			t.Errorf("text line lacks %q: %s", kept, text)
		}
	}
	if trace := line("text", "trace"); !strings.Contains(trace, "req.accept=oci.image.manifest.v1+json") || !strings.Contains(trace, d) {
		t.Errorf("at trace level the text line lacks the Accept header or the whole digest: %s", trace)
	}
	js := line("json", "debug")
	for _, kept := range []string{`"route":"blob.get"`, `"repository":"lab/base"`, `"digest":"` + d, "UpstreamClient", `"error_message":"blob unknown to registry"`, "application/vnd.oci.image.manifest.v1+json"} {
		if !strings.Contains(js, kept) {
			t.Errorf("JSON line lacks %q: %s", kept, js)
		}
	}
}

// At debug level a text line keeps the headers that tell what its route
// did, and none that repeat its path.
func TestTextAccessLineKeepsTheRoutesHeaders(t *testing.T) {
	line := func(route, method, path, location string) string {
		var out bytes.Buffer
		l, err := New(&out, "debug", "text")
		if err != nil {
			t.Fatal(err)
		}
		h := Middleware(l, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			From(r.Context()).Route = route
			w.Header().Set("Location", location)
			w.Header().Set("Range", "0-99")
			w.WriteHeader(202)
		}))
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Content-Range", "0-99")
		h.ServeHTTP(httptest.NewRecorder(), req)
		return out.String()
	}
	const session = "/v2/lab/base/blobs/uploads/abc"
	start := line("upload.start", "POST", "/v2/lab/base/blobs/uploads/", session)
	if !strings.Contains(start, "resp.location="+session) || strings.Contains(start, "req.accept") || strings.Contains(start, "range") {
		t.Errorf("upload.start: want Location only: %s", start)
	}
	patch := line("upload.patch", "PATCH", session, session)
	if !strings.Contains(patch, "req.content-range=0-99") || !strings.Contains(patch, "resp.range=0-99") || strings.Contains(patch, "resp.location") {
		t.Errorf("upload.patch: want Content-Range and Range, not the Location its path says: %s", patch)
	}
}
