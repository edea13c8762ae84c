package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestManifestPutGetHead(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	oci := r.makeImage("lab/app", manifestOpts{layers: 2})
	docker := r.makeImage("lab/app", manifestOpts{docker: true, layers: 3})
	ociIndex := makeIndex(t, false, oci, docker)
	dockerList := makeIndex(t, true, docker)
	nested := makeIndex(t, false, ociIndex, oci) // an index of indexes
	cases := []struct {
		name string
		img  image
		tag  string
	}{
		{"OCI manifest", oci, "oci"},
		{"Docker schema2 manifest", docker, "docker"},
		{"OCI index", ociIndex, "oci-index"},
		{"Docker manifest list", dockerList, "docker-list"},
		{"index of indexes", nested, "nested"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := r.mustPut("lab/app", c.tag, c.img)
			wantHeader(t, "PUT", res, "Location", "/v2/lab/app/manifests/"+c.img.digest.String())
			wantHeader(t, "PUT", res, "Docker-Content-Digest", c.img.digest.String())
			if res.header.Get("OCI-Subject") != "" {
				t.Fatalf("OCI-Subject on a manifest without a subject")
			}
			for _, ref := range []string{c.tag, c.img.digest.String()} {
				r.wantManifest("lab/app", ref, c.img)
				head := r.do("HEAD", "/v2/lab/app/manifests/"+ref, nil, nil)
				wantStatus(t, "HEAD "+ref, head, http.StatusOK)
				if len(head.body) != 0 {
					t.Fatal("HEAD sent a body")
				}
				wantHeader(t, "HEAD "+ref, head, "Content-Type", c.img.mediaType)
				wantHeader(t, "HEAD "+ref, head, "Content-Length", strconv.Itoa(len(c.img.body)))
				wantHeader(t, "HEAD "+ref, head, "Docker-Content-Digest", c.img.digest.String())
			}
			// Pushing the same bytes again is fine and changes nothing.
			r.mustPut("lab/app", c.tag, c.img)
			r.wantManifest("lab/app", c.tag, c.img)
		})
	}
	want := []string{"docker", "docker-list", "nested", "oci", "oci-index"}
	if got := r.tags("lab/app"); !slices.Equal(got, want) {
		t.Fatalf("tags %v, want %v", got, want)
	}
}

func TestManifestPutByDigestWithTags(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	res := r.putManifest("lab/app", img.digest.String()+"?tag=a&tag=b", img)
	wantStatus(t, "PUT by digest with ?tag=", res, http.StatusCreated)
	wantHeader(t, "PUT", res, "Docker-Content-Digest", img.digest.String())
	if got := res.header.Values("OCI-Tag"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("OCI-Tag %v, want [a b]", got)
	}
	for _, ref := range []string{"a", "b", img.digest.String()} {
		r.wantManifest("lab/app", ref, img)
	}
	if got := r.tags("lab/app"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("tags %v, want [a b]", got)
	}
	// By digest without tags: stored, untagged.
	other := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", other.digest.String(), other)
	r.wantManifest("lab/app", other.digest.String(), other)
	if got := r.tags("lab/app"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("tags %v after an untagged push, want [a b]", got)
	}
	// A tag moves to a new manifest.
	r.mustPut("lab/app", "a", other)
	r.wantManifest("lab/app", "a", other)
	r.wantManifest("lab/app", "b", img)
}

func TestManifestSHA512(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	d := digest.SHA512.FromBytes(img.body)
	res := r.do("PUT", "/v2/lab/app/manifests/"+d.String()+"?tag=v512", img.body, hdr("Content-Type", img.mediaType))
	wantStatus(t, "PUT by sha512 digest", res, http.StatusCreated)
	wantHeader(t, "PUT by sha512 digest", res, "Docker-Content-Digest", d.String())
	img.digest = d
	r.wantManifest("lab/app", d.String(), img)
	r.wantManifest("lab/app", "v512", img)
}

func TestManifestRejected(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	stable := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", "stable", stable)

	valid := r.makeImage("lab/app", manifestOpts{})
	missingBlob := mutateManifest(t, valid, func(m map[string]any) {
		layers := m["layers"].([]any)
		layers[0].(map[string]any)["digest"] = digest.FromString("not pushed").String()
	})
	missingConfig := mutateManifest(t, valid, func(m map[string]any) {
		m["config"].(map[string]any)["digest"] = digest.FromString("no config").String()
	})
	wrongSize := mutateManifest(t, valid, func(m map[string]any) {
		m["layers"].([]any)[0].(map[string]any)["size"] = 7
	})
	noSchema := mutateManifest(t, valid, func(m map[string]any) { delete(m, "schemaVersion") })
	schema1 := mutateManifest(t, valid, func(m map[string]any) { m["schemaVersion"] = 1 })
	noConfig := mutateManifest(t, valid, func(m map[string]any) { delete(m, "config") })
	badLayerDigest := mutateManifest(t, valid, func(m map[string]any) {
		m["layers"].([]any)[0].(map[string]any)["digest"] = "sha256:zz"
	})
	indexMissingChild := makeIndex(t, false, r.makeImage("lab/app", manifestOpts{}))
	elsewhere := r.makeImage("lab/elsewhere", manifestOpts{}) // blobs in another repository only
	unknownType := valid
	unknownType.mediaType = "application/vnd.example.unknown+json"
	unknownType.body = bytes.Replace(valid.body, []byte(mtOCIManifest), []byte(unknownType.mediaType), 1)
	unknownType.digest = digest.FromBytes(unknownType.body)
	typeMismatch := valid
	typeMismatch.mediaType = mtDockerManifest
	huge := valid
	huge.body = append(bytes.TrimRight(valid.body, "}\n"), []byte(`,"annotations":{"pad":"`+strings.Repeat("x", 4<<20)+`"}}`)...)
	huge.digest = digest.FromBytes(huge.body)

	cases := []struct {
		name    string
		ref     string
		img     image
		chunked bool
		status  int
		code    string
	}{
		{"missing layer blob", "stable", missingBlob, false, 404, "MANIFEST_BLOB_UNKNOWN"},
		{"missing config blob", "stable", missingConfig, false, 404, "MANIFEST_BLOB_UNKNOWN"},
		{"index with a missing child", "stable", indexMissingChild, false, 404, "MANIFEST_BLOB_UNKNOWN"},
		{"blobs only in another repository", "stable", elsewhere, false, 404, "MANIFEST_BLOB_UNKNOWN"},
		{"invalid JSON", "stable", image{body: []byte(`{"schemaVersion":2,`), mediaType: mtOCIManifest}, false, 400, "MANIFEST_INVALID"},
		{"not an object", "stable", image{body: []byte(`[1,2,3]`), mediaType: mtOCIManifest}, false, 400, "MANIFEST_INVALID"},
		{"empty body", "stable", image{body: []byte{}, mediaType: mtOCIManifest}, false, 400, "MANIFEST_INVALID"},
		{"unknown media type", "stable", unknownType, false, 400, "MANIFEST_INVALID"},
		{"Content-Type disagrees with mediaType", "stable", typeMismatch, false, 400, "MANIFEST_INVALID"},
		{"no schemaVersion", "stable", noSchema, false, 400, "MANIFEST_INVALID"},
		{"schemaVersion 1", "stable", schema1, false, 400, "MANIFEST_INVALID"},
		{"image manifest without config", "stable", noConfig, false, 400, "MANIFEST_INVALID"},
		{"descriptor with a bad digest", "stable", badLayerDigest, false, 400, "MANIFEST_INVALID"},
		{"descriptor size differs from the blob", "stable", wrongSize, false, 400, "MANIFEST_INVALID"},
		{"digest mismatch", stable.digest.String(), valid, false, 400, "DIGEST_INVALID"},
		{"digest mismatch sha512", digest.SHA512.FromBytes(stable.body).String(), valid, false, 400, "DIGEST_INVALID"},
		{"larger than 4 MiB", "stable", huge, false, 413, ""},
		{"larger than 4 MiB, chunked transfer", "stable", huge, true, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res result
			h := hdr("Content-Type", c.img.mediaType)
			path := "/v2/lab/app/manifests/" + c.ref
			if c.chunked {
				res = r.doReader("PUT", path, bytes.NewReader(c.img.body), -1, h)
			} else {
				res = r.do("PUT", path, c.img.body, h)
			}
			if c.code == "" {
				wantStatus(t, c.name, res, c.status)
				errorCodes(t, c.name, res)
			} else {
				wantError(t, c.name, res, c.status, c.code)
			}
			// Nothing stored before changed, and the rejected manifest is not there.
			r.wantManifest("lab/app", "stable", stable)
			r.wantManifest("lab/app", stable.digest.String(), stable)
			if got := r.tags("lab/app"); !slices.Equal(got, []string{"stable"}) {
				t.Fatalf("tags %v, want [stable]", got)
			}
			if c.img.digest != "" && c.img.digest != stable.digest {
				got := r.do("GET", "/v2/lab/app/manifests/"+c.img.digest.String(), nil, nil)
				wantError(t, "GET the rejected manifest", got, http.StatusNotFound, "MANIFEST_UNKNOWN")
			}
		})
	}
}

// mutateManifest decodes img's manifest, changes it and re-encodes it.
func mutateManifest(t *testing.T, img image, edit func(map[string]any)) image {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(img.body, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out := img
	out.body = indentJSON(t, m)
	out.digest = digest.FromBytes(out.body)
	return out
}

func TestManifestLayersWithURLs(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	foreign := mutateManifest(t, img, func(m map[string]any) {
		layers := m["layers"].([]any)
		m["layers"] = append(layers, map[string]any{
			"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
			"digest":    digest.FromString("foreign layer").String(),
			"size":      12345,
			"urls":      []string{"https://example.com/layer.tar.gz"},
		})
	})
	r.mustPut("lab/app", "foreign", foreign)
	r.wantManifest("lab/app", "foreign", foreign)
}

func TestManifestGetErrors(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", "v1", img)
	cases := []struct {
		name, path string
		status     int
		code       string
	}{
		{"unknown tag", "/v2/lab/app/manifests/v2", 404, "MANIFEST_UNKNOWN"},
		{"unknown digest", "/v2/lab/app/manifests/" + digest.FromString("x").String(), 404, "MANIFEST_UNKNOWN"},
		{"bad digest", "/v2/lab/app/manifests/sha256:abc", 400, "DIGEST_INVALID"},
		{"bad tag", "/v2/lab/app/manifests/-x", 400, "TAG_INVALID"},
		{"manifest of another repository", "/v2/lab/other/manifests/" + img.digest.String(), 404, ""},
		{"tag of another repository", "/v2/lab/other/manifests/v1", 404, ""},
		{"a blob is not a manifest", "/v2/lab/app/manifests/" + img.config.String(), 404, "MANIFEST_UNKNOWN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := r.do("GET", c.path, nil, nil)
			if c.code == "" {
				wantStatus(t, c.name, res, c.status)
				codes := errorCodes(t, c.name, res)
				if codes[0] != "MANIFEST_UNKNOWN" && codes[0] != "NAME_UNKNOWN" {
					t.Fatalf("codes %v", codes)
				}
				return
			}
			wantError(t, c.name, res, c.status, c.code)
			head := r.do("HEAD", c.path, nil, nil)
			wantStatus(t, "HEAD "+c.name, head, c.status)
			if len(head.body) != 0 {
				t.Fatal("HEAD error with a body")
			}
		})
	}
}

func TestManifestDelete(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	keep := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", img.digest.String()+"?tag=v1&tag=latest&tag=also", img)
	r.mustPut("lab/app", "keep", keep)

	// Deleting a tag removes only the tag.
	res := r.do("DELETE", "/v2/lab/app/manifests/also", nil, nil)
	wantStatus(t, "DELETE tag", res, http.StatusAccepted)
	res = r.do("GET", "/v2/lab/app/manifests/also", nil, nil)
	wantError(t, "GET deleted tag", res, http.StatusNotFound, "MANIFEST_UNKNOWN")
	r.wantManifest("lab/app", img.digest.String(), img)
	r.wantManifest("lab/app", "v1", img)
	if got := r.tags("lab/app"); !slices.Equal(got, []string{"keep", "latest", "v1"}) {
		t.Fatalf("tags after deleting one: %v", got)
	}
	res = r.do("DELETE", "/v2/lab/app/manifests/also", nil, nil)
	wantError(t, "DELETE the tag again", res, http.StatusNotFound, "MANIFEST_UNKNOWN")

	// Deleting by digest removes the manifest and every tag pointing at it.
	res = r.do("DELETE", "/v2/lab/app/manifests/"+img.digest.String(), nil, nil)
	wantStatus(t, "DELETE by digest", res, http.StatusAccepted)
	for _, ref := range []string{img.digest.String(), "v1", "latest"} {
		res = r.do("GET", "/v2/lab/app/manifests/"+ref, nil, nil)
		wantError(t, "GET "+ref+" after delete", res, http.StatusNotFound, "MANIFEST_UNKNOWN")
		res = r.do("HEAD", "/v2/lab/app/manifests/"+ref, nil, nil)
		wantStatus(t, "HEAD "+ref+" after delete", res, http.StatusNotFound)
	}
	if got := r.tags("lab/app"); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("tags after deleting the manifest: %v, want [keep]", got)
	}
	r.wantManifest("lab/app", "keep", keep)
	res = r.do("DELETE", "/v2/lab/app/manifests/"+img.digest.String(), nil, nil)
	wantError(t, "DELETE by digest again", res, http.StatusNotFound, "MANIFEST_UNKNOWN")
	// Its blobs stay in the repository (only garbage collection frees them).
	res = r.do("HEAD", "/v2/lab/app/blobs/"+img.layers[0].String(), nil, nil)
	wantStatus(t, "layer after manifest delete", res, http.StatusOK)
	// It can be pushed again.
	r.mustPut("lab/app", "v1", img)
	r.wantManifest("lab/app", "v1", img)
}

func TestManifestDeleteInOneRepositoryOnly(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/a", manifestOpts{})
	r.mustPut("lab/a", "v1", img)
	for _, d := range append([]digest.Digest{img.config}, img.layers...) {
		res := r.do("POST", "/v2/lab/b/blobs/uploads/?mount="+d.String()+"&from=lab/a", nil, nil)
		wantStatus(t, "mount", res, http.StatusCreated)
	}
	r.mustPut("lab/b", "v1", img)
	res := r.do("DELETE", "/v2/lab/a/manifests/"+img.digest.String(), nil, nil)
	wantStatus(t, "DELETE in lab/a", res, http.StatusAccepted)
	r.wantManifest("lab/b", "v1", img)
	r.wantManifest("lab/b", img.digest.String(), img)
}

func TestManifestOfExactly4MiB(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	prefix := append(bytes.TrimRight(img.body, "}\n"), []byte(`,"annotations":{"pad":"`)...)
	suffix := []byte(`"}}`)
	pad := 4<<20 - len(prefix) - len(suffix)
	img.body = append(append(prefix, bytes.Repeat([]byte("x"), pad)...), suffix...)
	if len(img.body) != 4<<20 {
		t.Fatalf("built %d bytes", len(img.body))
	}
	img.digest = digest.FromBytes(img.body)
	r.mustPut("lab/app", "big", img)
	r.wantManifest("lab/app", "big", img)
	r.wantManifest("lab/app", img.digest.String(), img)
}
