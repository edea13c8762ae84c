package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/layerlab/layerlab/registry/api"
)

// A layer listing costs decompression: only api.MaxLayerListings run at once,
// one more is refused with 429 TOOMANYREQUESTS; a config blob is not a
// layer (404 BLOB_UNKNOWN, with the reason).
func TestLayerListingsAreBoundedAndChecked(t *testing.T) {
	r, f, _ := queryFixture(t)
	for range api.MaxLayerListings {
		api.LayerListings <- struct{}{}
	}
	res := r.do("GET", "/api/blobs/"+f.L1.Digest.String()+"/files", nil, nil)
	for range api.MaxLayerListings {
		<-api.LayerListings
	}
	wantStatus(t, "a listing over the limit", res, http.StatusTooManyRequests)
	if !strings.Contains(string(res.body), "TOOMANYREQUESTS") {
		t.Errorf("body %s", res.body)
	}
	res = r.do("GET", "/api/blobs/"+f.L1.Digest.String()+"/files", nil, nil)
	if res.status != http.StatusOK && res.status != http.StatusNotFound {
		t.Errorf("a listing under the limit: %d %s", res.status, res.body)
	}
	res = r.do("GET", "/api/blobs/sha256:"+strings.Repeat("0", 64)+"/files", nil, nil)
	wantStatus(t, "an unknown blob", res, http.StatusNotFound)
	res = r.do("GET", "/api/blobs/sha256:zz/files", nil, nil)
	wantStatus(t, "a bad digest", res, http.StatusBadRequest)
}
