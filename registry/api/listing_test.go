package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
)

var linkPattern = regexp.MustCompile(`^<([^>]+)>;\s*rel="next"$`)

// nextLink returns the URL of the Link header's next page ("" when none).
func nextLink(t *testing.T, res result) string {
	t.Helper()
	l := res.header.Get("Link")
	if l == "" {
		return ""
	}
	m := linkPattern.FindStringSubmatch(l)
	if m == nil {
		t.Fatalf("Link header %q is not <url>; rel=\"next\"", l)
	}
	return m[1]
}

func TestTagsListPagination(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	all := []string{"1.0", "1.1", "2.0", "latest", "v3"}
	for _, tag := range all {
		r.mustPut("lab/app", tag, img)
	}
	type page struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	get := func(path string) (page, result) {
		t.Helper()
		res := r.do("GET", path, nil, nil)
		wantStatus(t, path, res, http.StatusOK)
		var p page
		if err := json.Unmarshal(res.body, &p); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if p.Name != "lab/app" {
			t.Fatalf("%s: name %q", path, p.Name)
		}
		return p, res
	}
	cases := []struct {
		query    string
		want     []string
		wantNext bool
	}{
		{"", all, false},
		{"?n=2", all[:2], true},
		{"?n=5", all, false},
		{"?n=100", all, false},
		{"?n=2&last=1.1", all[2:4], true},
		{"?last=2.0", all[3:], false},
		{"?last=1.5", all[2:], false}, // not a tag: the tags after it
		{"?last=v3", []string{}, false},
		{"?n=0", []string{}, false},
	}
	for _, c := range cases {
		p, res := get("/v2/lab/app/tags/list" + c.query)
		if !slices.Equal(p.Tags, c.want) {
			t.Errorf("%s: tags %v, want %v", c.query, p.Tags, c.want)
		}
		if p.Tags == nil {
			t.Errorf("%s: tags is null, want a list", c.query)
		}
		if next := nextLink(t, res); (next != "") != c.wantNext {
			t.Errorf("%s: Link %q, want a next page: %v", c.query, res.header.Get("Link"), c.wantNext)
		}
	}
	// Following the Link header walks every tag once.
	var walked []string
	path := "/v2/lab/app/tags/list?n=2"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		p, res := get(path)
		walked = append(walked, p.Tags...)
		path = nextLink(t, res)
		if path != "" {
			u, err := url.Parse(path)
			if err != nil || u.Path != "/v2/lab/app/tags/list" || u.Query().Get("n") != "2" {
				t.Fatalf("next page %q", path)
			}
		}
	}
	if !slices.Equal(walked, all) {
		t.Fatalf("pages gave %v, want %v", walked, all)
	}
	for _, bad := range []string{"?n=-1", "?n=abc"} {
		res := r.do("GET", "/v2/lab/app/tags/list"+bad, nil, nil)
		wantError(t, bad, res, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
	}
	res := r.do("GET", "/v2/lab/nothing/tags/list", nil, nil)
	wantError(t, "unknown repository", res, http.StatusNotFound, "NAME_UNKNOWN")
}

// catalog fetches one catalog page.
func (r *reg) catalog(query string) ([]string, result) {
	r.t.Helper()
	res := r.do("GET", "/v2/_catalog"+query, nil, nil)
	wantStatus(r.t, "catalog"+query, res, http.StatusOK)
	var c struct {
		Repositories []string `json:"repositories"`
	}
	if err := json.Unmarshal(res.body, &c); err != nil {
		r.t.Fatal(err)
	}
	return c.Repositories, res
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	if got, _ := r.catalog(""); len(got) != 0 {
		t.Fatalf("empty registry lists %v", got)
	}
	repos := []string{"alpha", "lab/app", "lab/base", "lab/base/sub", "zeta"}
	imgs := map[string]image{}
	for _, repo := range repos {
		imgs[repo] = r.makeImage(repo, manifestOpts{})
		r.mustPut(repo, "v1", imgs[repo])
	}
	// A repository with blobs but no manifest is not listed.
	r.pushBlob("lab/only-blobs", []byte("blob"))
	got, _ := r.catalog("")
	if !slices.Equal(got, repos) {
		t.Fatalf("catalog %v, want %v", got, repos)
	}
	got, res := r.catalog("?n=2")
	if !slices.Equal(got, repos[:2]) || nextLink(t, res) == "" {
		t.Fatalf("catalog ?n=2: %v, Link %q", got, res.header.Get("Link"))
	}
	var walked []string
	path := "?n=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page, res := r.catalog(path)
		walked = append(walked, page...)
		next := nextLink(t, res)
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		if err != nil || u.Path != "/v2/_catalog" {
			t.Fatalf("next page %q", next)
		}
		path = "?" + u.RawQuery
	}
	if !slices.Equal(walked, repos) {
		t.Fatalf("pages gave %v, want %v", walked, repos)
	}
	if got, _ := r.catalog("?n=2&last=lab/base"); !slices.Equal(got, repos[3:5]) {
		t.Fatalf("catalog after lab/base: %v", got)
	}
	res = r.do("GET", "/v2/_catalog?n=x", nil, nil)
	wantError(t, "catalog ?n=x", res, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")

	// A repository whose last manifest is deleted leaves the catalog; its
	// nested repository stays.
	extra := r.makeImage("lab/base", manifestOpts{})
	r.mustPut("lab/base", "v2", extra)
	for _, img := range []image{imgs["lab/base"], extra} {
		res = r.do("DELETE", "/v2/lab/base/manifests/"+img.digest.String(), nil, nil)
		wantStatus(t, "DELETE", res, http.StatusAccepted)
	}
	want := []string{"alpha", "lab/app", "lab/base/sub", "zeta"}
	if got, _ := r.catalog(""); !slices.Equal(got, want) {
		t.Fatalf("catalog after deleting lab/base's manifests: %v, want %v", got, want)
	}
	// Deleting only a tag keeps the repository (its manifest is still there).
	res = r.do("DELETE", "/v2/alpha/manifests/v1", nil, nil)
	wantStatus(t, "DELETE tag", res, http.StatusAccepted)
	if got, _ := r.catalog(""); !slices.Contains(got, "alpha") {
		t.Fatalf("alpha left the catalog when only its tag was deleted: %v", got)
	}
}

// referrersOf fetches the referrers index of a subject.
func (r *reg) referrersOf(repo string, subject digest.Digest, query string) ([]desc, result) {
	r.t.Helper()
	return r.referrersAt("/v2/" + repo + "/referrers/" + subject.String() + query)
}

// referrersAt fetches one page of a referrers list.
func (r *reg) referrersAt(path string) ([]desc, result) {
	r.t.Helper()
	res := r.do("GET", path, nil, nil)
	wantStatus(r.t, "referrers", res, http.StatusOK)
	wantHeader(r.t, "referrers", res, "Content-Type", mtOCIIndex)
	var idx struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Manifests     []desc `json:"manifests"`
	}
	if err := json.Unmarshal(res.body, &idx); err != nil {
		r.t.Fatal(err)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != mtOCIIndex || idx.Manifests == nil {
		r.t.Fatalf("referrers answer is not an OCI index with a manifests list: %s", res.body)
	}
	return idx.Manifests, res
}

func TestReferrers(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	subject := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", "v1", subject)
	subj := &desc{MediaType: subject.mediaType, Digest: subject.digest, Size: int64(len(subject.body))}

	const sbom, sig = "application/vnd.example.sbom", "application/vnd.example.signature"
	a1 := r.makeImage("lab/app", manifestOpts{subject: subj, artifactType: sbom, annotations: map[string]string{"org.example": "one"}})
	a2 := r.makeImage("lab/app", manifestOpts{subject: subj, artifactType: sig})
	for _, a := range []image{a1, a2} {
		res := r.mustPut("lab/app", a.digest.String(), a)
		wantHeader(t, "PUT referrer", res, "OCI-Subject", subject.digest.String())
	}

	all, res := r.referrersOf("lab/app", subject.digest, "")
	if res.header.Get("OCI-Filters-Applied") != "" {
		t.Errorf("OCI-Filters-Applied %q without a filter", res.header.Get("OCI-Filters-Applied"))
	}
	if len(all) != 2 {
		t.Fatalf("%d referrers, want 2: %v", len(all), all)
	}
	byDigest := map[digest.Digest]desc{}
	for _, d := range all {
		byDigest[d.Digest] = d
	}
	for _, c := range []struct {
		img image
		at  string
	}{{a1, sbom}, {a2, sig}} {
		d, ok := byDigest[c.img.digest]
		if !ok {
			t.Fatalf("referrer %s missing from %v", c.img.digest, all)
		}
		if d.MediaType != mtOCIManifest || d.Size != int64(len(c.img.body)) || d.ArtifactType != c.at {
			t.Errorf("referrer descriptor %+v: want media type %s, size %d, artifactType %s", d, mtOCIManifest, len(c.img.body), c.at)
		}
	}
	if byDigest[a1.digest].Annotations["org.example"] != "one" {
		t.Errorf("referrer annotations not listed: %+v", byDigest[a1.digest])
	}

	filtered, res := r.referrersOf("lab/app", subject.digest, "?artifactType="+sbom)
	wantHeader(t, "filtered referrers", res, "OCI-Filters-Applied", "artifactType")
	if len(filtered) != 1 || filtered[0].Digest != a1.digest {
		t.Fatalf("filtered referrers %v, want only %s", filtered, a1.digest)
	}
	none, res := r.referrersOf("lab/app", subject.digest, "?artifactType=application/vnd.example.none")
	wantHeader(t, "filtered referrers", res, "OCI-Filters-Applied", "artifactType")
	if len(none) != 0 {
		t.Fatalf("referrers of an unused artifactType: %v", none)
	}

	// A subject that does not exist (yet) is accepted.
	ghost := desc{MediaType: mtOCIManifest, Digest: digest.FromString("ghost"), Size: 123}
	a3 := r.makeImage("lab/app", manifestOpts{subject: &ghost, artifactType: sbom})
	res = r.mustPut("lab/app", "dangling", a3)
	wantHeader(t, "PUT referrer of a missing subject", res, "OCI-Subject", ghost.Digest.String())
	if got, _ := r.referrersOf("lab/app", ghost.Digest, ""); len(got) != 1 || got[0].Digest != a3.digest {
		t.Fatalf("referrers of the missing subject: %v", got)
	}

	// Unknown subject: 200 with an empty index.
	if got, _ := r.referrersOf("lab/app", digest.FromString("unknown"), ""); len(got) != 0 {
		t.Fatalf("referrers of an unknown subject: %v", got)
	}
	if got, _ := r.referrersOf("lab/nothing", subject.digest, ""); len(got) != 0 {
		t.Fatalf("referrers in an unknown repository: %v", got)
	}
	// Referrers are per repository.
	if got, _ := r.referrersOf("lab/other", subject.digest, ""); len(got) != 0 {
		t.Fatalf("referrers leak across repositories: %v", got)
	}
	for _, bad := range []string{"sha256:short", "nothing", "md5:" + fmt.Sprint(123)} {
		res = r.do("GET", "/v2/lab/app/referrers/"+bad, nil, nil)
		wantError(t, "referrers of "+bad, res, http.StatusBadRequest, "DIGEST_INVALID")
	}

	// Deleting a referrer removes it from the list; deleting the subject
	// does not remove its referrers.
	res = r.do("DELETE", "/v2/lab/app/manifests/"+a2.digest.String(), nil, nil)
	wantStatus(t, "DELETE referrer", res, http.StatusAccepted)
	if got, _ := r.referrersOf("lab/app", subject.digest, ""); len(got) != 1 || got[0].Digest != a1.digest {
		t.Fatalf("referrers after deleting one: %v", got)
	}
	res = r.do("DELETE", "/v2/lab/app/manifests/"+subject.digest.String(), nil, nil)
	wantStatus(t, "DELETE subject", res, http.StatusAccepted)
	if got, _ := r.referrersOf("lab/app", subject.digest, ""); len(got) != 1 {
		t.Fatalf("referrers after deleting the subject: %v", got)
	}
}

func TestReferrersOfAnIndex(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", img.digest.String(), img)
	idx := makeIndex(t, false, img)
	r.mustPut("lab/app", "multi", idx)
	// An index can be a referrer too (no config: artifactType from the field).
	body := indentJSON(t, map[string]any{
		"schemaVersion": 2, "mediaType": mtOCIIndex, "artifactType": "application/vnd.example.bundle",
		"manifests": []any{}, "subject": desc{MediaType: mtOCIIndex, Digest: idx.digest, Size: int64(len(idx.body))},
	})
	ref := image{body: body, mediaType: mtOCIIndex, digest: digest.FromBytes(body)}
	res := r.mustPut("lab/app", ref.digest.String(), ref)
	wantHeader(t, "PUT index referrer", res, "OCI-Subject", idx.digest.String())
	got, _ := r.referrersOf("lab/app", idx.digest, "?artifactType=application/vnd.example.bundle")
	if len(got) != 1 || got[0].Digest != ref.digest || got[0].MediaType != mtOCIIndex {
		t.Fatalf("referrers of the index: %v", got)
	}
}
