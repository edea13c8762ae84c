package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// An empty catalog is an empty list, not null (as the tags list already is).
func TestCatalogEmptyIsAList(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	for _, q := range []string{"", "?n=5", "?last=zzz"} {
		res := r.do("GET", "/v2/_catalog"+q, nil, nil)
		wantStatus(t, "catalog"+q, res, http.StatusOK)
		if body := strings.TrimSpace(string(res.body)); body != `{"repositories":[]}` {
			t.Errorf("empty catalog%s: %s, want {\"repositories\":[]}", q, body)
		}
	}
}

// A name nobody pushed to is unknown, even when it is the parent of a
// nested repository (lab of lab/app) or holds only blobs.
func TestTagsListOfAParentOrBlobOnlyRepositoryIsNameUnknown(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := r.makeImage("lab/app", manifestOpts{})
	r.mustPut("lab/app", "v1", img)
	r.pushBlob("lab/blobs", []byte("only a blob"))
	for _, name := range []string{"lab", "lab/blobs"} {
		t.Run(name, func(t *testing.T) {
			res := r.do("GET", "/v2/"+name+"/tags/list", nil, nil)
			wantError(t, "tags list of "+name, res, http.StatusNotFound, "NAME_UNKNOWN")
		})
	}
}
