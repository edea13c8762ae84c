package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/layerlab/layerlab/registry/api"
	"github.com/layerlab/layerlab/registry/config"
)

func TestBase(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	for _, method := range []string{"GET", "HEAD"} {
		res := r.do(method, "/v2/", nil, nil)
		wantStatus(t, method+" /v2/", res, http.StatusOK)
		if method == "GET" && strings.TrimSpace(string(res.body)) != "{}" {
			t.Errorf("GET /v2/ body %q, want {}", res.body)
		}
		if method == "HEAD" && len(res.body) != 0 {
			t.Errorf("HEAD /v2/ has a body")
		}
	}
}

func TestRequestIDEchoed(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	for _, path := range []string{"/v2/", "/v2/lab/app/manifests/missing", "/v2/Bad/tags/list"} {
		res := r.do("GET", path, nil, hdr("X-Request-Id", "trace-123"))
		wantHeader(t, path, res, "X-Request-Id", "trace-123")
		res = r.do("GET", path, nil, nil)
		if res.header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id when the client sent none", path)
		}
	}
}

func TestUnknownRouteIsAnOCIError(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	res := r.do("GET", "/v2/lab/app/nothing-here", nil, nil)
	if res.status != http.StatusNotFound {
		t.Fatalf("unknown route: status %d, want 404", res.status)
	}
	errorCodes(t, "unknown route", res)
}

func TestNameInvalid(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	long := strings.Repeat("a", 300)
	names := []struct{ label, raw string }{
		{"uppercase", "Lab/App"},
		{"dot-dot", "lab/../etc"},
		{"encoded dot-dot", "lab/%2e%2e/etc"},
		{"encoded dot-dot upper", "lab/%2E%2E/etc"},
		{"backslash", "lab%5capp"},
		{"NUL", "lab%00app"},
		{"300 characters", long},
		{"300 characters nested", "lab/" + long},
		{"leading separator", "-lab"},
		{"trailing slash component", "lab/"},
		{"double slash", "lab//app"},
		{"underscore component", "lab/_layers"},
		{"space", "lab%20app"},
	}
	d := "sha256:" + strings.Repeat("a", 64)
	routes := []struct{ method, suffix string }{
		{"GET", "/tags/list"},
		{"GET", "/manifests/latest"},
		{"HEAD", "/manifests/latest"},
		{"PUT", "/manifests/latest"},
		{"DELETE", "/manifests/latest"},
		{"GET", "/blobs/" + d},
		{"HEAD", "/blobs/" + d},
		{"DELETE", "/blobs/" + d},
		{"POST", "/blobs/uploads/"},
		{"GET", "/referrers/" + d},
	}
	for _, n := range names {
		for _, rt := range routes {
			t.Run(n.label+"/"+rt.method+rt.suffix, func(t *testing.T) {
				res := r.do(rt.method, "/v2/"+n.raw+rt.suffix, nil, nil)
				if rt.method == "HEAD" {
					if res.status != http.StatusBadRequest {
						t.Fatalf("status %d, want 400", res.status)
					}
					return
				}
				wantError(t, rt.method+" "+n.label, res, http.StatusBadRequest, "NAME_INVALID")
			})
		}
	}
	// The mount source is a name too.
	res := r.do("POST", "/v2/lab/app/blobs/uploads/?mount="+d+"&from=lab/%2e%2e/x", nil, nil)
	wantError(t, "mount from ..", res, http.StatusBadRequest, "NAME_INVALID")
	// Nothing was created on disk for any of them.
	res = r.do("GET", "/v2/_catalog", nil, nil)
	wantStatus(t, "catalog", res, http.StatusOK)
	if strings.Contains(string(res.body), "lab") {
		t.Fatalf("an invalid name reached the store: %s", res.body)
	}
}

func TestNameValidBoundaries(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	for _, name := range []string{"a", "lab/app", "a.b_c__d---e/f0", strings.Repeat("a", 255)} {
		res := r.do("GET", "/v2/"+name+"/tags/list", nil, nil)
		wantError(t, "tags list of "+name, res, http.StatusNotFound, "NAME_UNKNOWN")
	}
	if err := api.ValidateName(strings.Repeat("a", 256)); err == nil {
		t.Fatal("a 256-character name is accepted")
	}
}

func TestTagInvalid(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", "stable", img)
	bad := []string{".hidden", "-dash", strings.Repeat("t", 129), "t%20t", "t%00"}
	for _, tag := range bad {
		res := r.putManifest("lab/app", tag, img)
		wantError(t, "PUT tag "+tag, res, http.StatusBadRequest, "TAG_INVALID")
		res = r.putManifest("lab/app", img.digest.String()+"?tag=ok&tag="+tag, img)
		wantError(t, "PUT ?tag="+tag, res, http.StatusBadRequest, "TAG_INVALID")
		res = r.do("GET", "/v2/lab/app/manifests/"+tag, nil, nil)
		if res.status != http.StatusBadRequest && res.status != http.StatusNotFound {
			t.Errorf("GET tag %q: status %d", tag, res.status)
		}
	}
	// A rejected ?tag= list stores none of its tags.
	if got := r.tags("lab/app"); len(got) != 1 || got[0] != "stable" {
		t.Fatalf("tags after rejected pushes: %v, want [stable]", got)
	}
	if err := api.ValidateTag(strings.Repeat("t", 128)); err != nil {
		t.Fatalf("a 128-character tag is refused: %v", err)
	}
}

func TestDigestInvalid(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	bad := []string{
		"sha256:xyz",
		"sha256:" + strings.Repeat("a", 63),
		"sha256:" + strings.Repeat("A", 64),
		"md5:" + strings.Repeat("a", 32),
		"sha512:" + strings.Repeat("a", 64),
		"sha256:",
	}
	for _, d := range bad {
		for _, rt := range []struct{ method, path string }{
			{"GET", "/v2/lab/app/blobs/" + d},
			{"DELETE", "/v2/lab/app/blobs/" + d},
			{"GET", "/v2/lab/app/manifests/" + d},
			{"DELETE", "/v2/lab/app/manifests/" + d},
			{"GET", "/v2/lab/app/referrers/" + d},
			{"POST", "/v2/lab/app/blobs/uploads/?digest=" + d},
			{"POST", "/v2/lab/app/blobs/uploads/?mount=" + d},
		} {
			res := r.do(rt.method, rt.path, []byte{}, nil)
			wantError(t, rt.method+" "+rt.path, res, http.StatusBadRequest, "DIGEST_INVALID")
		}
	}
	res := r.do("POST", "/v2/lab/app/blobs/uploads/?digest-algorithm=md5", nil, nil)
	wantError(t, "digest-algorithm=md5", res, http.StatusBadRequest, "DIGEST_INVALID")
}

func TestDeleteDisabled(t *testing.T) {
	t.Parallel()
	r := newReg(t, func(c *config.Config) { c.DeleteEnabled = false })
	img := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", "v1", img)
	for _, path := range []string{
		"/v2/lab/app/manifests/v1",
		"/v2/lab/app/manifests/" + img.digest.String(),
		"/v2/lab/app/blobs/" + img.layers[0].String(),
	} {
		res := r.do("DELETE", path, nil, nil)
		wantError(t, "DELETE "+path, res, http.StatusMethodNotAllowed, "UNSUPPORTED")
	}
	r.wantManifest("lab/app", "v1", img)
	res := r.do("GET", "/v2/lab/app/blobs/"+img.layers[0].String(), nil, nil)
	wantStatus(t, "blob after refused delete", res, http.StatusOK)
	// Cancelling an upload is part of a push, not a delete of stored
	// content: it stays allowed (read-only mode refuses it).
	loc := r.startSession("lab/app", "")
	res = r.do("DELETE", loc, nil, nil)
	wantStatus(t, "DELETE upload session with deletes disabled", res, http.StatusNoContent)
	res = r.do("GET", loc, nil, nil)
	wantError(t, "cancelled session", res, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	rw := newRegAt(t, root, nil)
	img := rw.makeImage("lab/app", manifestOpts{})
	rw.mustPut("lab/app", "v1", img)
	res := rw.do("POST", "/v2/lab/app/blobs/uploads/", nil, nil)
	wantStatus(t, "start upload", res, http.StatusAccepted)
	session := res.header.Get("Location")

	ro := newRegAt(t, root, func(c *config.Config) { c.ReadOnly = true })
	other := append(append([]byte{}, img.body...), ' ') // same manifest, other digest
	d := img.layers[0].String()
	writes := []struct {
		method, path string
		body         []byte
		h            http.Header
	}{
		{"POST", "/v2/lab/app/blobs/uploads/", nil, nil},
		{"POST", "/v2/lab/app/blobs/uploads/?digest=" + digestOf([]byte("x")), []byte("x"), nil},
		{"POST", "/v2/lab/other/blobs/uploads/?mount=" + d + "&from=lab/app", nil, nil},
		{"PATCH", session, []byte("abc"), nil},
		{"PUT", session + "?digest=" + digestOf([]byte("abc")), []byte("abc"), nil},
		{"DELETE", session, nil, nil},
		{"PUT", "/v2/lab/app/manifests/v1", other, hdr("Content-Type", mtOCIManifest)},
		{"PUT", "/v2/lab/app/manifests/v2", img.body, hdr("Content-Type", mtOCIManifest)},
		{"DELETE", "/v2/lab/app/manifests/v1", nil, nil},
		{"DELETE", "/v2/lab/app/manifests/" + img.digest.String(), nil, nil},
		{"DELETE", "/v2/lab/app/blobs/" + d, nil, nil},
	}
	for _, w := range writes {
		res := ro.do(w.method, w.path, w.body, w.h)
		wantError(t, "read-only "+w.method+" "+w.path, res, http.StatusMethodNotAllowed, "UNSUPPORTED")
	}
	// Reads still work and nothing changed.
	ro.wantManifest("lab/app", "v1", img)
	if got := ro.tags("lab/app"); len(got) != 1 || got[0] != "v1" {
		t.Fatalf("tags %v, want [v1]", got)
	}
	res = ro.do("GET", "/v2/lab/app/blobs/"+d, nil, nil)
	wantStatus(t, "blob read-only", res, http.StatusOK)
	res = ro.do("GET", "/v2/lab/other/blobs/"+d, nil, nil)
	wantError(t, "blob not mounted", res, http.StatusNotFound, "BLOB_UNKNOWN")
	res = ro.do("GET", session, nil, nil)
	wantStatus(t, "session still open", res, http.StatusNoContent)
	wantHeader(t, "session still empty", res, "Range", "0-0")
}

// A known route with a method it does not serve answers 405 UNSUPPORTED
// (routes.go sets MethodNotAllowedHandler for this).
func TestWrongMethodOnKnownRouteIsUnsupported(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	for _, rt := range []struct{ method, path string }{
		{"POST", "/v2/lab/app/tags/list"},
		{"PATCH", "/v2/lab/app/manifests/latest"},
		{"POST", "/v2/_catalog"},
		{"PUT", "/v2/"},
	} {
		res := r.do(rt.method, rt.path, nil, nil)
		wantError(t, rt.method+" "+rt.path, res, http.StatusMethodNotAllowed, "UNSUPPORTED")
	}
}
