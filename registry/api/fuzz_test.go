package api

import (
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlab/layerlab/registry/storage"
)

// Every value below comes from the wire; whatever the parsers accept must
// be safe to join onto a path. Seeds: f.Add here and testdata/fuzz/.

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"lab/base", "a", "a/b/c", "a__b", "a--b", "..", "a/../b", "A", "a\\b", "a\x00b", "_layers", "a/_manifests", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		if len(name) > storage.MaxNameLength || strings.ContainsAny(name, "\\\x00:") || strings.Contains(name, "..") {
			t.Fatalf("accepted %q", name)
		}
		for _, c := range strings.Split(name, "/") {
			if c == "" || c[0] == '_' || c[0] == '.' || c[0] == '-' {
				t.Fatalf("accepted %q: component %q", name, c)
			}
		}
		root := "/srv/registry/repositories"
		rel, err := filepath.Rel(root, filepath.Join(root, filepath.FromSlash(name)))
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("%q leaves the root: %q", name, rel)
		}
	})
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"latest", "1.0", "v1.2.3-rc_1", "sha256:" + strings.Repeat("a", 64), "sha512:" + strings.Repeat("0", 128),
		"sha256:xyz", "../x", ".hidden", "a/b", "sha1:" + strings.Repeat("a", 40), strings.Repeat("t", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		if ParseReference(ref) != nil {
			return
		}
		if strings.ContainsAny(ref, "/\\\x00") || strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "-") || len(ref) > 135 {
			t.Fatalf("accepted %q", ref)
		}
	})
}

func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{"sha256:" + strings.Repeat("a", 64), "sha512:" + strings.Repeat("f", 128), "sha256:" + strings.Repeat("A", 64),
		"sha256:../../etc", "sha384:" + strings.Repeat("a", 96), "sha256", ":", "md5:d41d8cd98f00b204e9800998ecf8427e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err != nil {
			return
		}
		enc := d.Encoded()
		want := map[string]int{"sha256": 64, "sha512": 128}[d.Algorithm().String()]
		if want == 0 || len(enc) != want || strings.Trim(enc, "0123456789abcdef") != "" {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-1023", "bytes 0-1023/2048", "bytes=5-10", "10-5", "-1-5", "0-", "99999999999999999999-1", "0-9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := ParseContentRange(s)
		if err == nil && (start < 0 || end < start || end-start+1 <= 0) {
			t.Fatalf("%q parsed as %d-%d", s, start, end)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add(v1.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:`+strings.Repeat("a", 64)+`","size":2},"layers":[]}`))
	f.Add(v1.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+strings.Repeat("b", 64)+`","size":10}]}`))
	f.Add("", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}`))
	f.Add("application/json", []byte(`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]`))
	f.Add("text/plain", []byte(`{"schemaVersion":1}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		m, err := storage.ParseManifest(contentType, body)
		if err != nil {
			return
		}
		switch m.MediaType {
		case storage.MediaTypeOCIManifest, storage.MediaTypeDockerManifest:
			if m.Config == nil || storage.ValidateDigest(m.Config.Digest) != nil {
				t.Fatalf("image manifest accepted without a valid config: %s", body)
			}
		case storage.MediaTypeOCIIndex, storage.MediaTypeDockerList:
		default:
			t.Fatalf("accepted media type %q", m.MediaType)
		}
		for _, l := range append(m.Layers, m.Manifests...) {
			if storage.ValidateDigest(l.Digest) != nil || l.Size < 0 {
				t.Fatalf("accepted descriptor %+v", l)
			}
		}
	})
}
