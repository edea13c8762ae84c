package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// TestCalls is the table of plain request/response cases: one request,
// the status, the OCI error code when there is one, and the headers that
// matter. Everything that needs a sequence of requests has its own test.
func TestCalls(t *testing.T) {
	t.Parallel()
	reg := registrytest.New(t, registrytest.Options{})
	img, err := random.Image(64, 1) // a Docker schema 2 image

	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(reg.Ref(t, "lab/app:1.0"), img); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Digest()
	layers, _ := img.Layers()
	l, _ := layers[0].Digest()
	manifest, layer := m.String(), l.String()
	unknown := "sha256:" + strings.Repeat("0", 64)

	cases := []struct {
		what, method, path, body string
		reqHeader                map[string]string
		status                   int
		code                     string            // the OCI error code; "" for a success
		header                   map[string]string // response headers that must have these values
	}{
		{"base", "GET", "/v2/", "", nil, 200, "", map[string]string{"Docker-Distribution-API-Version": "registry/2.0"}},
		{"base HEAD", "HEAD", "/v2/", "", nil, 200, "", nil},
		{"base DELETE", "DELETE", "/v2/", "", nil, 405, "UNSUPPORTED", nil},
		{"no such endpoint", "GET", "/v2/lab/app/nothing-here", "", nil, 404, "NOT_FOUND", nil},
		{"catalog", "GET", "/v2/_catalog", "", nil, 200, "", map[string]string{"Content-Type": "application/json"}},
		{"catalog bad n", "GET", "/v2/_catalog?n=many", "", nil, 400, "PAGINATION_NUMBER_INVALID", nil},
		{"tags", "GET", "/v2/lab/app/tags/list", "", nil, 200, "", map[string]string{"Content-Type": "application/json"}},
		{"tags bad n", "GET", "/v2/lab/app/tags/list?n=-1", "", nil, 400, "PAGINATION_NUMBER_INVALID", nil},
		{"tags unknown repository", "GET", "/v2/lab/none/tags/list", "", nil, 404, "NAME_UNKNOWN", nil},
		{"name invalid", "GET", "/v2/Lab/App/tags/list", "", nil, 400, "NAME_INVALID", nil},
		{"manifest by tag", "GET", "/v2/lab/app/manifests/1.0", "", nil, 200, "",
			map[string]string{"Content-Type": string(types.DockerManifestSchema2), "Docker-Content-Digest": manifest}},
		{"manifest HEAD by digest", "HEAD", "/v2/lab/app/manifests/" + manifest, "", nil, 200, "",
			map[string]string{"Docker-Content-Digest": manifest}},
		{"manifest unknown tag", "GET", "/v2/lab/app/manifests/2.0", "", nil, 404, "MANIFEST_UNKNOWN", nil},
		{"manifest unknown digest", "GET", "/v2/lab/app/manifests/" + unknown, "", nil, 404, "MANIFEST_UNKNOWN", nil},
		{"manifest not JSON", "PUT", "/v2/lab/app/manifests/bad", "{", map[string]string{"Content-Type": v1.MediaTypeImageManifest},
			400, "MANIFEST_INVALID", nil},
		{"blob", "GET", "/v2/lab/app/blobs/" + layer, "", nil, 200, "", map[string]string{"Docker-Content-Digest": layer}},
		{"blob range", "GET", "/v2/lab/app/blobs/" + layer, "", map[string]string{"Range": "bytes=0-3"}, 206, "",
			map[string]string{"Content-Length": "4"}},
		{"blob unknown", "GET", "/v2/lab/app/blobs/" + unknown, "", nil, 404, "BLOB_UNKNOWN", nil},
		{"blob HEAD unknown", "HEAD", "/v2/lab/app/blobs/" + unknown, "", nil, 404, "", nil},
		{"blob in another repository", "GET", "/v2/lab/other/blobs/" + layer, "", nil, 404, "BLOB_UNKNOWN", nil},
		{"blob bad digest", "GET", "/v2/lab/app/blobs/sha256:xyz", "", nil, 400, "DIGEST_INVALID", nil},
		{"upload start", "POST", "/v2/lab/app/blobs/uploads/", "", nil, 202, "", map[string]string{"Content-Length": "0"}},
		{"upload unknown", "GET", "/v2/lab/app/blobs/uploads/no-such-session", "", nil, 404, "BLOB_UPLOAD_UNKNOWN", nil},
		{"monolithic upload, wrong digest", "POST", "/v2/lab/app/blobs/uploads/?digest=" + unknown, "data", nil, 400, "DIGEST_INVALID", nil},
		{"referrers", "GET", "/v2/lab/app/referrers/" + manifest, "", nil, 200, "", map[string]string{"Content-Type": v1.MediaTypeImageIndex}},
		{"referrers bad digest", "GET", "/v2/lab/app/referrers/sha256:xyz", "", nil, 400, "DIGEST_INVALID", nil},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(c.method, reg.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.reqHeader {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			res := result{status: resp.StatusCode, header: resp.Header, body: body}
			if c.code != "" {
				wantError(t, c.what, res, c.status, c.code)
			} else {
				wantStatus(t, c.what, res, c.status)
			}
			for k, v := range c.header {
				wantHeader(t, c.what, res, k, v)
			}
		})
	}
}
