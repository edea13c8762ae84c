package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/layerlab/layerlab/registry/api"
	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/index/indextest"
	"github.com/layerlab/layerlab/registry/storage"
)

// queryFixture starts a registry on the index's fixture store; sql answers
// queries on the same store through `registry sql`'s database.
func queryFixture(t *testing.T) (*reg, *indextest.Fixture, func(q string, args ...any) []string) {
	t.Helper()
	root := t.TempDir()
	s, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	f := indextest.Build(t, s)
	r := newRegAt(t, root, nil)
	sql := func(q string, args ...any) []string {
		t.Helper()
		_, rows, err := index.Query(indextest.SQL(t, s), fmt.Sprintf(q, args...))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, row := range rows {
			out = append(out, fmt.Sprint(row...))
		}
		sort.Strings(out)
		return out
	}
	return r, f, sql
}

func getJSON(t *testing.T, r *reg, path string, into any) result {
	t.Helper()
	res := r.do("GET", path, nil, nil)
	wantStatus(t, "GET "+path, res, http.StatusOK)
	if err := json.Unmarshal(res.body, into); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, res.body)
	}
	return res
}

func same(t *testing.T, what string, api, sql []string) {
	t.Helper()
	sort.Strings(api)
	if strings.Join(api, "\n") != strings.Join(sql, "\n") || len(api) == 0 {
		t.Errorf("%s: the API says\n%s\nSQL says\n%s", what, strings.Join(api, "\n"), strings.Join(sql, "\n"))
	}
}

// TestQueryAPIEqualsSQL asks the API and SQL the same questions about the
// same store: every image with its repositories, tags and layers (walking
// the pages), an image's family, the images holding a blob.
func TestQueryAPIEqualsSQL(t *testing.T) {
	t.Parallel()
	r, f, sql := queryFixture(t)

	var apiImages, apiLayers []string
	path, pages := "/api/images?n=2", 0
	for path != "" {
		var page struct{ Images []api.ImageJSON }
		res := getJSON(t, r, path, &page)
		pages++
		for _, img := range page.Images {
			for _, rt := range img.Repositories {
				apiImages = append(apiImages, fmt.Sprint(rt.Name, img.Digest, strings.Join(rt.Tags, ","), len(img.Layers), img.Platform, img.Size))
			}
			for i, l := range img.Layers {
				apiLayers = append(apiLayers, fmt.Sprint(img.Digest, i, l.Digest, l.Size, l.CreatedBy))
			}
		}
		path = nextLink(t, res)
	}
	if pages != 2 { // four images, two a page
		t.Errorf("%d pages of 2 for 4 images", pages)
	}
	same(t, "images", apiImages, sql("SELECT repository, digest, coalesce(tags, ''), layers, platform, bytes FROM images"))
	same(t, "layers", apiLayers, sql(`SELECT b.manifest, b.position, b.digest, b.size, coalesce(h.created_by, '')
		FROM manifest_blobs b JOIN manifests m ON m.digest = b.manifest AND m.kind = 'image'
		LEFT JOIN history h ON h.manifest = b.manifest AND h.position = b.position WHERE b.role = 'layer'`))

	for _, img := range []indextest.Image{f.Old, f.Base, f.Derived, f.Sibling} {
		var fam struct {
			Bases, Derived []api.RelativeJSON
		}
		getJSON(t, r, "/api/images/"+img.Digest.String()+"/family", &fam)
		var bases, derived []string
		for _, b := range fam.Bases {
			bases = append(bases, fmt.Sprint(b.Digest, b.SharedLayers))
		}
		for _, d := range fam.Derived {
			derived = append(derived, fmt.Sprint(d.Digest, d.SharedLayers))
		}
		sqlBases := sql("SELECT base, shared_layers FROM built_on WHERE image = '%s'", img.Digest)
		sqlDerived := sql("SELECT image, shared_layers FROM built_on WHERE base = '%s'", img.Digest)
		if fmt.Sprint(slices.Sorted(slices.Values(bases))) != fmt.Sprint(sqlBases) || fmt.Sprint(slices.Sorted(slices.Values(derived))) != fmt.Sprint(sqlDerived) {
			t.Errorf("family of %s: API %v / %v, SQL %v / %v", img.Digest, bases, derived, sqlBases, sqlDerived)
		}
	}

	for _, b := range []indextest.Blob{f.L1, f.L2, f.L3, f.S, f.Base.Config} {
		var users struct {
			Size   int64
			Images []api.BlobUseJSON
		}
		getJSON(t, r, "/api/blobs/"+b.Digest.String()+"/images", &users)
		var got []string
		for _, u := range users.Images {
			got = append(got, fmt.Sprint(u.Digest, u.Role, u.Position))
		}
		same(t, "images of "+b.Digest.String(), got, sql("SELECT DISTINCT manifest, role, position FROM manifest_blobs WHERE digest = '%s' AND role <> 'child'", b.Digest))
		if users.Size != b.Size {
			t.Errorf("blob %s: size %d, want %d", b.Digest, users.Size, b.Size)
		}
	}
}

func TestQueryAPIHTTP(t *testing.T) {
	t.Parallel()
	r, f, _ := queryFixture(t)
	path := "/api/images/" + f.Derived.Digest.String()
	first := r.do("GET", path, nil, nil)
	wantStatus(t, "image", first, http.StatusOK)
	etag := first.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := r.do("GET", path, nil, hdr("If-None-Match", etag))
	wantStatus(t, "If-None-Match", again, http.StatusNotModified)
	if len(again.body) != 0 {
		t.Errorf("304 with a body: %s", again.body)
	}
	// A new tag changes the answer, and so the ETag: seen at once.
	body := r.do("GET", "/v2/lab/app/manifests/1", nil, hdr("Accept", mtOCIManifest)).body
	wantStatus(t, "tag", r.do("PUT", "/v2/lab/app/manifests/2", body, hdr("Content-Type", mtOCIManifest)), http.StatusCreated)
	changed := r.do("GET", path, nil, hdr("If-None-Match", etag))
	wantStatus(t, "after a push", changed, http.StatusOK)
	var img api.ImageJSON
	if err := json.Unmarshal(changed.body, &img); err != nil || changed.header.Get("ETag") == etag ||
		fmt.Sprint(img.Repositories) != "[{lab/app [1 2]} {lab/multi []}]" {
		t.Errorf("after tagging lab/app:2: %v %s (ETag %s)", err, changed.body, changed.header.Get("ETag"))
	}

	wantError(t, "bad digest", r.do("GET", "/api/images/sha256:nothex/family", nil, nil), http.StatusBadRequest, "DIGEST_INVALID")
	wantError(t, "unknown image", r.do("GET", "/api/images/"+f.L1.Digest.String(), nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	wantError(t, "an index is no image", r.do("GET", "/api/images/"+f.Index.Digest.String(), nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
	wantError(t, "unknown blob", r.do("GET", "/api/blobs/sha256:"+strings.Repeat("0", 64)+"/images", nil, nil), http.StatusNotFound, "BLOB_UNKNOWN")
	wantError(t, "n=0", r.do("GET", "/api/images?n=0", nil, nil), http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
	wantStatus(t, "POST", r.do("POST", "/api/images", nil, nil), http.StatusMethodNotAllowed)
}
