package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// Media types used by the tests: image-spec's and, for Docker's, go-containerregistry's.
const (
	mtOCIManifest    = v1.MediaTypeImageManifest
	mtOCIIndex       = v1.MediaTypeImageIndex
	mtOCIConfig      = v1.MediaTypeImageConfig
	mtOCILayer       = v1.MediaTypeImageLayerGzip
	mtDockerManifest = string(types.DockerManifestSchema2)
	mtDockerList     = string(types.DockerManifestList)
	mtDockerConfig   = string(types.DockerConfigJSON)
	mtDockerLayer    = string(types.DockerLayer)
)

// reg is a registry under test, served by httptest.
type reg struct {
	t    *testing.T
	kit  *registrytest.Registry
	url  string
	root string
	// counted sees every request (method, path, query and body size) before
	// the registry does.
	requests atomic.Int64
	bodyIn   atomic.Int64
	observe  func(r *http.Request)
}

// newReg starts a registry on a fresh root; edit, when not nil, changes
// the configuration first.
func newReg(t *testing.T, edit func(*config.Config)) *reg {
	t.Helper()
	return newRegAt(t, t.TempDir(), edit)
}

// newRegAt starts a registry on the given root (a restart when the root
// was used before).
func newRegAt(t *testing.T, root string, edit func(*config.Config)) *reg {
	t.Helper()
	r := &reg{t: t}
	r.kit = registrytest.New(t, registrytest.Options{Root: root, Config: edit, Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r.requests.Add(1)
			if req.ContentLength > 0 {
				r.bodyIn.Add(req.ContentLength)
			}
			if r.observe != nil {
				r.observe(req)
			}
			h.ServeHTTP(w, req)
		})
	}})
	r.url, r.root = r.kit.URL, r.kit.Root
	return r
}

// host is the registry's host:port, as image references name it.
func (r *reg) host() string { return r.kit.Host }

// result is a response, read whole.
type result struct {
	status int
	header http.Header
	body   []byte
}

// hdr builds headers from key, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// do sends one request (path may be absolute or start with /) and checks
// the header every response carries.
func (r *reg) do(method, path string, body []byte, h http.Header) result {
	r.t.Helper()
	return r.doReader(method, path, bodyReader(body), int64(len(body)), h)
}

func bodyReader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

// doReader is do with a body of a given length (-1: unknown, sent chunked).
func (r *reg) doReader(method, path string, body io.Reader, length int64, h http.Header) result {
	r.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = r.url + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.ContentLength = length
		if length < 0 {
			req.Body = io.NopCloser(body) // hide the length: sent chunked
			req.ContentLength = -1
		}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	if got := resp.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
		r.t.Errorf("%s %s: Docker-Distribution-API-Version %q, want registry/2.0", method, path, got)
	}
	return result{resp.StatusCode, resp.Header, b}
}

// wantStatus fails unless the response has the status.
func wantStatus(t *testing.T, what string, res result, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, res.status, status, trim(res.body))
	}
}

// wantError fails unless the response is an OCI error envelope with the
// status and code.
func wantError(t *testing.T, what string, res result, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: status %d, want %d (%s); body %s", what, res.status, status, code, trim(res.body))
	}
	codes := errorCodes(t, what, res)
	for _, c := range codes {
		if c == code {
			return
		}
	}
	t.Fatalf("%s: error codes %v, want %s", what, codes, code)
}

// errorCodes decodes the error envelope and returns its codes.
func errorCodes(t *testing.T, what string, res result) []string {
	t.Helper()
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: error with Content-Type %q", what, ct)
	}
	var env struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(res.body, &env); err != nil {
		t.Fatalf("%s: error body is not the JSON envelope: %v: %s", what, err, trim(res.body))
	}
	if len(env.Errors) == 0 {
		t.Fatalf("%s: empty errors list: %s", what, trim(res.body))
	}
	var codes []string
	for _, e := range env.Errors {
		if e.Message == "" {
			t.Errorf("%s: error %s without a message", what, e.Code)
		}
		codes = append(codes, e.Code)
	}
	return codes
}

func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// wantHeader fails unless the response header has the value.
func wantHeader(t *testing.T, what string, res result, key, want string) {
	t.Helper()
	if got := res.header.Get(key); got != want {
		t.Fatalf("%s: %s %q, want %q", what, key, got, want)
	}
}

// pushBlob stores data in the repository with a monolithic upload.
func (r *reg) pushBlob(repo string, data []byte) digest.Digest {
	r.t.Helper()
	d := digest.FromBytes(data)
	res := r.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), data, nil)
	wantStatus(r.t, "push blob", res, http.StatusCreated)
	return d
}

// image is a manifest with the bytes it references, pushed or not.
type image struct {
	body      []byte
	mediaType string
	digest    digest.Digest
	config    digest.Digest
	layers    []digest.Digest
}

type desc struct {
	MediaType    string            `json:"mediaType"`
	Digest       digest.Digest     `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// manifestOpts shapes makeManifest's output.
type manifestOpts struct {
	docker       bool
	subject      *desc
	artifactType string // config media type of an artifact
	layers       int
	annotations  map[string]string
}

// makeImage pushes a config and layers into repo and returns an image
// manifest referencing them (not pushed). Its JSON is indented on purpose:
// the registry must keep the exact bytes.
func (r *reg) makeImage(repo string, o manifestOpts) image {
	r.t.Helper()
	cfgType, layerType, mt := mtOCIConfig, mtOCILayer, mtOCIManifest
	if o.docker {
		cfgType, layerType, mt = mtDockerConfig, mtDockerLayer, mtDockerManifest
	}
	if o.artifactType != "" {
		cfgType = o.artifactType
	}
	cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"n":%q}`, registrytest.RandomBytes(r.t, 8)))
	img := image{mediaType: mt, config: r.pushBlob(repo, cfg)}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     mt,
		"config":        desc{MediaType: cfgType, Digest: img.config, Size: int64(len(cfg))},
	}
	layers := []desc{}
	n := o.layers
	if n == 0 {
		n = 1
	}
	for i := 0; i < n; i++ {
		data := registrytest.RandomBytes(r.t, 512+i)
		d := r.pushBlob(repo, data)
		img.layers = append(img.layers, d)
		layers = append(layers, desc{MediaType: layerType, Digest: d, Size: int64(len(data))})
	}
	m["layers"] = layers
	if o.subject != nil {
		m["subject"] = o.subject
	}
	if o.annotations != nil {
		m["annotations"] = o.annotations
	}
	img.body = indentJSON(r.t, m)
	img.digest = digest.FromBytes(img.body)
	return img
}

// makeIndex returns an index (OCI, or a Docker manifest list) of the
// given manifests, not pushed.
func makeIndex(t *testing.T, docker bool, children ...image) image {
	t.Helper()
	mt := mtOCIIndex
	if docker {
		mt = mtDockerList
	}
	var ms []map[string]any
	for _, c := range children {
		ms = append(ms, map[string]any{
			"mediaType": c.mediaType, "digest": c.digest, "size": len(c.body),
			"platform": map[string]string{"architecture": "amd64", "os": "linux"},
		})
	}
	body := indentJSON(t, map[string]any{"schemaVersion": 2, "mediaType": mt, "manifests": ms})
	return image{body: body, mediaType: mt, digest: digest.FromBytes(body)}
}

func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "   ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// putManifest pushes a manifest to ref (tag or digest).
func (r *reg) putManifest(repo, ref string, img image) result {
	r.t.Helper()
	return r.do("PUT", "/v2/"+repo+"/manifests/"+ref, img.body, hdr("Content-Type", img.mediaType))
}

// mustPut pushes a manifest and fails unless it was created.
func (r *reg) mustPut(repo, ref string, img image) result {
	r.t.Helper()
	res := r.putManifest(repo, ref, img)
	wantStatus(r.t, "PUT manifest "+repo+":"+ref, res, http.StatusCreated)
	return res
}

// wantManifest fails unless ref serves exactly img's bytes and media type.
func (r *reg) wantManifest(repo, ref string, img image) {
	r.t.Helper()
	res := r.do("GET", "/v2/"+repo+"/manifests/"+ref, nil, hdr("Accept", img.mediaType))
	wantStatus(r.t, "GET manifest "+repo+":"+ref, res, http.StatusOK)
	if !bytes.Equal(res.body, img.body) {
		r.t.Fatalf("GET %s:%s: body differs from the bytes pushed", repo, ref)
	}
	wantHeader(r.t, "GET manifest "+ref, res, "Content-Type", img.mediaType)
	wantHeader(r.t, "GET manifest "+ref, res, "Docker-Content-Digest", img.digest.String())
}

// tags lists a repository's tags (all of them).
func (r *reg) tags(repo string) []string {
	r.t.Helper()
	res := r.do("GET", "/v2/"+repo+"/tags/list", nil, nil)
	wantStatus(r.t, "tags list "+repo, res, http.StatusOK)
	var tl struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(res.body, &tl); err != nil {
		r.t.Fatal(err)
	}
	if tl.Name != repo {
		r.t.Fatalf("tags list names %q, want %q", tl.Name, repo)
	}
	return tl.Tags
}

// digestOf is the sha256 digest of b, as a string.
func digestOf(b []byte) string { return digest.FromBytes(b).String() }
