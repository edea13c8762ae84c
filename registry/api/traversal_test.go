package api_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathTraversal sends hostile names, references, digests and upload
// ids in every position of every route, and proves nothing outside the
// storage root is read, written or created.
func TestPathTraversal(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("do not touch"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRegAt(t, root, nil)
	before := snapshot(t, parent, root)
	hex := strings.Repeat("a", 64)
	attacks := []string{"..", "%2e%2e", "%2E%2E", "..%2f..%2fsecret", "%2e%2e%2f%2e%2e%2fsecret", "a/../../secret",
		"..\\..\\secret", "a%5c..%5c..%5csecret", "a%00b", "%00", "lab/%2e%2e/%2e%2e/%2e%2e/secret", "%2fetc%2fpasswd",
		"sha256:..%2f..%2f" + hex[:58], "sha256:" + strings.Repeat("%2e", 64), strings.Repeat("a", 300),
		strings.Repeat("a/", 2000) + "a", "lab/_manifests", "_layers/x"}
	templates := []struct{ method, path string }{
		{"GET", "/v2/X/manifests/latest"}, {"PUT", "/v2/X/manifests/latest"}, {"DELETE", "/v2/X/manifests/latest"},
		{"GET", "/v2/lab/app/manifests/X"}, {"PUT", "/v2/lab/app/manifests/X"}, {"DELETE", "/v2/lab/app/manifests/X"},
		{"HEAD", "/v2/X/blobs/sha256:" + hex}, {"GET", "/v2/lab/app/blobs/X"}, {"DELETE", "/v2/lab/app/blobs/X"},
		{"POST", "/v2/X/blobs/uploads/"}, {"POST", "/v2/lab/app/blobs/uploads/?digest=X"},
		{"POST", "/v2/lab/app/blobs/uploads/?mount=X&from=X"}, {"POST", "/v2/lab/app/blobs/uploads/?mount=sha256:" + hex + "&from=X"},
		{"GET", "/v2/lab/app/blobs/uploads/X"}, {"PATCH", "/v2/lab/app/blobs/uploads/X"},
		{"PUT", "/v2/lab/app/blobs/uploads/X?digest=sha256:" + hex}, {"DELETE", "/v2/lab/app/blobs/uploads/X"},
		{"GET", "/v2/X/tags/list"}, {"GET", "/v2/X/tags/list?last=X"}, {"GET", "/v2/lab/app/referrers/X"},
	}
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	n := 0
	for _, tmpl := range templates {
		for _, a := range attacks {
			path := strings.ReplaceAll(tmpl.path, "X", a)
			var b []byte
			if tmpl.method == "PUT" || tmpl.method == "PATCH" || tmpl.method == "POST" {
				b = body
			}
			res := r.do(tmpl.method, path, b, hdr("Content-Type", mtOCIIndex))
			n++
			if res.status < 400 || res.status >= 500 {
				t.Errorf("%s %s: %d, want a 4xx refusal", tmpl.method, path, res.status)
			}
		}
	}
	if after := snapshot(t, parent, root); after != before {
		t.Fatalf("something outside the storage root changed:\nbefore %s\nafter  %s", before, after)
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "do not touch" {
		t.Fatal("the file next to the root was touched")
	}
	t.Logf("%d hostile requests refused", n)
}

// snapshot describes every file outside root under dir: names, sizes, times.
func snapshot(t *testing.T, dir, root string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if path == root {
			return filepath.SkipDir
		}
		b.WriteString(path + " " + info.ModTime().String() + " " + info.Mode().String() + ";")
		return nil
	})
	return b.String()
}
