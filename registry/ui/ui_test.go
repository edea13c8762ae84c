package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The whole explorer must stay small: it is carried by every binary.
const maxAssets = 300 << 10

func TestAssetsAreSmall(t *testing.T) {
	total := 0
	err := fs.WalkDir(Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Assets(), path)
		total += len(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded explorer: %d bytes", total)
	if total == 0 || total > maxAssets {
		t.Fatalf("embedded explorer is %d bytes, want 1..%d", total, maxAssets)
	}
}

// No script may write markup from data: the DOM is built with text nodes.
// No inline script or style either: the CSP would refuse them.
func TestAssetsBuildNoMarkup(t *testing.T) {
	bad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function`)
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|style=|<style|\son[a-z]+=`)
	err := fs.WalkDir(Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(Assets(), path)
		switch {
		case strings.HasSuffix(path, ".js") && bad.Match(b):
			t.Errorf("%s: %q builds markup from strings", path, bad.Find(b))
		case strings.HasSuffix(path, ".html") && inline.Match(b):
			t.Errorf("%s: %q is inline script or style", path, inline.Find(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHandlerHeaders(t *testing.T) {
	h := Handler("/ui/")
	for _, tc := range []struct{ path, ctype string }{
		{"/ui/", "text/html; charset=utf-8"},
		{"/ui/app.js", "text/javascript; charset=utf-8"},
		{"/ui/style.css", "text/css; charset=utf-8"},
	} {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest("GET", tc.path, nil))
		if rr.Code != http.StatusOK {
			t.Fatalf("%s: status %d", tc.path, rr.Code)
		}
		if got := rr.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if got := rr.Header().Get("Content-Security-Policy"); got != CSP || !strings.Contains(got, "default-src 'self'") {
			t.Errorf("%s: CSP %q", tc.path, got)
		}
		if rr.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", tc.path)
		}
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", "/ui/nope.js", nil))
	if rr.Code != http.StatusNotFound {
		t.Errorf("missing file: status %d", rr.Code)
	}
}
