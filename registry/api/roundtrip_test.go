package api_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// exchange is one request a client made, as seen on the wire.
type exchange struct {
	method, path, query string
	reqHeader           http.Header
	reqLength           int64
	status              int
	respHeader          http.Header
}

// wire is a client transport that records every exchange.
type wire struct {
	mu sync.Mutex
	ex []exchange
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.ex = append(w.ex, exchange{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), req.ContentLength,
		resp.StatusCode, resp.Header.Clone()})
	w.mu.Unlock()
	return resp, nil
}

// take returns the exchanges so far and forgets them.
func (w *wire) take() []exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.ex
	w.ex = nil
	return out
}

func (r *reg) ref(s string) name.Reference { r.t.Helper(); return r.kit.Ref(r.t, s) }

func (r *reg) repo(s string) name.Repository { r.t.Helper(); return r.kit.Repo(r.t, s) }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ociImage is a random image with OCI media types throughout.
func ociImage(t *testing.T, size int64, layers int) v1.Image {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for i := 0; i < layers; i++ {
		l := must[v1.Layer](t)(random.Layer(size, types.OCILayer))
		img = must[v1.Image](t)(mutate.AppendLayers(img, l))
	}
	return img
}

// checkPulledImage pulls ref, validates it and compares it with img.
func checkPulledImage(t *testing.T, ref name.Reference, img v1.Image, opts ...remote.Option) v1.Image {
	t.Helper()
	pulled, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Fatalf("validate %s: %v", ref, err)
	}
	if img != nil {
		want := must[v1.Hash](t)(img.Digest())
		if got := must[v1.Hash](t)(pulled.Digest()); got != want {
			t.Fatalf("pulled digest %s, pushed %s", got, want)
		}
		wantRaw := must[[]byte](t)(img.RawManifest())
		if got := must[[]byte](t)(pulled.RawManifest()); !bytes.Equal(got, wantRaw) {
			t.Fatal("pulled manifest bytes differ from the pushed ones")
		}
		wantMT := must[types.MediaType](t)(img.MediaType())
		if got := must[types.MediaType](t)(pulled.MediaType()); got != wantMT {
			t.Fatalf("pulled media type %s, pushed %s", got, wantMT)
		}
	}
	return pulled
}

func TestRoundTripImages(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	cases := []struct {
		name string
		img  func() v1.Image
		mt   types.MediaType
	}{
		{"random image", func() v1.Image { return must[v1.Image](t)(random.Image(1024, 3)) }, types.DockerManifestSchema2},
		{"docker schema2", func() v1.Image {
			return mutate.MediaType(must[v1.Image](t)(random.Image(512, 2)), types.DockerManifestSchema2)
		}, types.DockerManifestSchema2},
		{"oci", func() v1.Image { return ociImage(t, 2048, 2) }, types.OCIManifestSchema1},
		{"no layers", func() v1.Image { return ociImage(t, 0, 0) }, types.OCIManifestSchema1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := c.img()
			if mt := must[types.MediaType](t)(img.MediaType()); mt != c.mt {
				t.Fatalf("test image has media type %s, want %s", mt, c.mt)
			}
			ref := r.ref(fmt.Sprintf("lab/img%d:v1", i))
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			checkPulledImage(t, ref, img)
			dref := r.ref(fmt.Sprintf("lab/img%d@%s", i, must[v1.Hash](t)(img.Digest())))
			checkPulledImage(t, dref, img)
			desc := must[*remote.Descriptor](t)(remote.Get(ref))
			if desc.MediaType != c.mt {
				t.Fatalf("served media type %s, want %s", desc.MediaType, c.mt)
			}
		})
	}
}

func TestRoundTripIndexes(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	inner := must[v1.ImageIndex](t)(random.Index(256, 1, 2))
	cases := []struct {
		name string
		idx  func() v1.ImageIndex
		mt   types.MediaType
	}{
		{"oci index", func() v1.ImageIndex { return must[v1.ImageIndex](t)(random.Index(512, 2, 3)) }, types.OCIImageIndex},
		{"docker manifest list", func() v1.ImageIndex {
			return mutate.IndexMediaType(must[v1.ImageIndex](t)(random.Index(512, 1, 2)), types.DockerManifestList)
		}, types.DockerManifestList},
		{"index of indexes", func() v1.ImageIndex {
			return mutate.AppendManifests(empty.Index,
				mutate.IndexAddendum{Add: inner},
				mutate.IndexAddendum{Add: must[v1.ImageIndex](t)(random.Index(128, 1, 1))},
				mutate.IndexAddendum{Add: ociImage(t, 256, 1)})
		}, types.OCIImageIndex},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx := c.idx()
			ref := r.ref(fmt.Sprintf("lab/idx%d:multi", i))
			if err := remote.WriteIndex(ref, idx); err != nil {
				t.Fatal(err)
			}
			pulled, err := remote.Index(ref)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Index(pulled); err != nil {
				t.Fatal(err)
			}
			if got, want := must[v1.Hash](t)(pulled.Digest()), must[v1.Hash](t)(idx.Digest()); got != want {
				t.Fatalf("pulled digest %s, pushed %s", got, want)
			}
			if mt := must[types.MediaType](t)(pulled.MediaType()); mt != c.mt {
				t.Fatalf("pulled media type %s, want %s", mt, c.mt)
			}
			if !bytes.Equal(must[[]byte](t)(pulled.RawManifest()), must[[]byte](t)(idx.RawManifest())) {
				t.Fatal("index bytes differ")
			}
		})
	}
}

// blobsOf returns an image's config and layers as (digest, bytes).
func blobsOf(t *testing.T, img v1.Image) map[v1.Hash][]byte {
	t.Helper()
	out := map[v1.Hash][]byte{}
	cfg := must[[]byte](t)(img.RawConfigFile())
	out[must[v1.Hash](t)(img.ConfigName())] = cfg
	for _, l := range must[[]v1.Layer](t)(img.Layers()) {
		rc := must[io.ReadCloser](t)(l.Compressed())
		b := must[[]byte](t)(io.ReadAll(rc))
		rc.Close()
		out[must[v1.Hash](t)(l.Digest())] = b
	}
	return out
}

func TestRoundTripChunkedUploadByHand(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := must[v1.Image](t)(random.Image(40000, 2))
	for h, b := range blobsOf(t, img) {
		loc := r.startSession("lab/chunked", "")
		// Three chunks with Content-Range, the last one in the closing PUT.
		cuts := []int{0, len(b) / 3, 2 * len(b) / 3, len(b)}
		for i := 0; i < 2; i++ {
			res := r.patch(loc, fmt.Sprintf("%d-%d", cuts[i], cuts[i+1]-1), b[cuts[i]:cuts[i+1]])
			wantStatus(t, "chunk", res, http.StatusAccepted)
			wantHeader(t, "chunk", res, "Range", fmt.Sprintf("0-%d", cuts[i+1]-1))
			loc = res.header.Get("Location")
		}
		res := r.do("PUT", withQuery(loc, "digest="+h.String()), b[cuts[2]:],
			hdr("Content-Range", fmt.Sprintf("%d-%d", cuts[2], len(b)-1)))
		wantStatus(t, "close", res, http.StatusCreated)
	}
	// The client finds every blob there and only pushes the manifest.
	w := &wire{}
	ref := r.ref("lab/chunked:v1")
	if err := remote.Write(ref, img, remote.WithTransport(w)); err != nil {
		t.Fatal(err)
	}
	for _, e := range w.take() {
		if e.method == "POST" || e.method == "PATCH" {
			t.Errorf("client uploaded a blob the chunks already stored: %s %s", e.method, e.path)
		}
	}
	checkPulledImage(t, ref, img)
}

func TestRoundTripStreamedLayer(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	content := tarOf(t, "etc/motd", bytes.Repeat([]byte("streamed layer content "), 5000))
	sl := stream.NewLayer(io.NopCloser(bytes.NewReader(content)))
	base := must[v1.Image](t)(random.Image(1024, 1))
	img := must[v1.Image](t)(mutate.AppendLayers(base, sl))
	var mu sync.Mutex
	streamed := 0
	r.observe = func(req *http.Request) {
		// Seen by the server: no length (chunked transfer), no Content-Range.
		if req.Method == "PATCH" && req.ContentLength == -1 && req.Header.Get("Content-Range") == "" {
			mu.Lock()
			streamed++
			mu.Unlock()
		}
	}
	ref := r.ref("lab/streamed:v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	r.observe = nil
	if streamed != 1 {
		t.Fatalf("%d streamed PATCHes (no length, no Content-Range), want 1", streamed)
	}
	pulled := checkPulledImage(t, ref, img)
	layers := must[[]v1.Layer](t)(pulled.Layers())
	rc := must[io.ReadCloser](t)(layers[len(layers)-1].Uncompressed())
	defer rc.Close()
	if got := must[[]byte](t)(io.ReadAll(rc)); !bytes.Equal(got, content) {
		t.Fatal("streamed layer content differs")
	}
}

func TestRoundTripMountBetweenRepositories(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	base := must[v1.Image](t)(random.Image(64<<10, 2))
	baseRef := r.ref("lab/base:1.0")
	if err := remote.Write(baseRef, base); err != nil {
		t.Fatal(err)
	}
	// Built on the base as pulled: the client knows where its layers live.
	remoteBase := must[v1.Image](t)(remote.Image(baseRef))
	extra := must[v1.Layer](t)(random.Layer(1024, types.DockerLayer))
	app := must[v1.Image](t)(mutate.AppendLayers(remoteBase, extra))

	var mu sync.Mutex
	var uploaded int64
	r.observe = func(req *http.Request) {
		if strings.Contains(req.URL.Path, "/blobs/uploads/") && req.Method != "POST" {
			mu.Lock()
			uploaded += max(req.ContentLength, 0)
			mu.Unlock()
		}
	}
	w := &wire{}
	appRef := r.ref("lab/app:1.0")
	if err := remote.Write(appRef, app, remote.WithTransport(w)); err != nil {
		t.Fatal(err)
	}
	r.observe = nil
	mounted := map[string]bool{}
	for _, e := range w.take() {
		if e.method == "POST" && strings.Contains(e.query, "mount=") && strings.Contains(e.query, "from=lab%2Fbase") && e.status == http.StatusCreated {
			mounted[e.respHeader.Get("Docker-Content-Digest")] = true
		}
	}
	for _, l := range must[[]v1.Layer](t)(base.Layers()) {
		d := must[v1.Hash](t)(l.Digest())
		if !mounted[d.String()] {
			t.Errorf("base layer %s was not mounted (mounted: %v)", d, mounted)
		}
	}
	if uploaded > 32<<10 {
		t.Errorf("%d bytes uploaded for the app: the 2×64 KiB base layers were sent again", uploaded)
	}
	checkPulledImage(t, appRef, app)
	// One blob file, linked by both repositories.
	for _, l := range must[[]v1.Layer](t)(base.Layers()) {
		d := must[v1.Hash](t)(l.Digest())
		if _, err := os.Stat(filepath.Join(r.root, "blobs", "sha256", d.Hex[:2], d.Hex)); err != nil {
			t.Errorf("blob file of %s: %v", d, err)
		}
		for _, repo := range []string{"lab/base", "lab/app"} {
			res := r.do("HEAD", "/v2/"+repo+"/blobs/"+d.String(), nil, nil)
			wantStatus(t, "HEAD "+repo, res, http.StatusOK)
		}
	}
}

func TestRoundTripSHA512ByHand(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	sum := func(b []byte) digest.Digest {
		s := sha512.Sum512(b)
		return digest.Digest("sha512:" + hex.EncodeToString(s[:]))
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := registrytest.RandomBytes(t, 30000)
	cd, ld := sum(cfg), sum(layer)
	if cd != digest.SHA512.FromBytes(cfg) {
		t.Fatal("digest helpers disagree")
	}
	res := r.do("POST", "/v2/lab/s512/blobs/uploads/?digest="+cd.String(), cfg, nil)
	wantStatus(t, "monolithic sha512", res, http.StatusCreated)
	loc := r.startSession("lab/s512", "?digest-algorithm=sha512")
	res = r.patch(loc, fmt.Sprintf("0-%d", 9999), layer[:10000])
	wantStatus(t, "chunk", res, http.StatusAccepted)
	res = r.do("PUT", withQuery(res.header.Get("Location"), "digest="+ld.String()), layer[10000:],
		hdr("Content-Range", fmt.Sprintf("10000-%d", len(layer)-1)))
	wantStatus(t, "close sha512", res, http.StatusCreated)

	m := image{mediaType: mtOCIManifest}
	m.body = indentJSON(t, map[string]any{
		"schemaVersion": 2, "mediaType": mtOCIManifest,
		"config": desc{MediaType: mtOCIConfig, Digest: cd, Size: int64(len(cfg))},
		"layers": []desc{{MediaType: mtOCILayer, Digest: ld, Size: int64(len(layer))}},
	})
	m.digest = digest.FromBytes(m.body)
	r.mustPut("lab/s512", "v1", m)
	r.wantManifest("lab/s512", "v1", m)
	// Pull it back the way a client does: manifest, then every descriptor.
	for d, want := range map[digest.Digest][]byte{cd: cfg, ld: layer} {
		got := r.do("GET", "/v2/lab/s512/blobs/"+d.String(), nil, nil)
		wantStatus(t, "GET sha512 blob", got, http.StatusOK)
		if sum(got.body) != d || !bytes.Equal(got.body, want) {
			t.Fatalf("sha512 blob %s differs", d)
		}
	}
	// A sha512 blob mounts like any other.
	res = r.do("POST", "/v2/lab/s512copy/blobs/uploads/?mount="+ld.String()+"&from=lab/s512", nil, nil)
	wantStatus(t, "mount sha512", res, http.StatusCreated)
	if _, err := os.Stat(filepath.Join(r.root, "blobs", "sha512", ld.Encoded()[:2], ld.Encoded())); err != nil {
		t.Fatalf("sha512 blob file: %v", err)
	}
}

func TestRoundTripReferrers(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	subject := must[v1.Image](t)(random.Image(512, 1))
	subjRef := r.ref("lab/app:v1")
	if err := remote.Write(subjRef, subject); err != nil {
		t.Fatal(err)
	}
	subjDesc := must[*remote.Descriptor](t)(remote.Get(subjRef)).Descriptor
	const sbom, sig = "application/vnd.example.sbom.v1+json", "application/vnd.example.sig.v1+json"
	artifact := func(at string) v1.Image {
		img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.MediaType(at))
		img = must[v1.Image](t)(mutate.AppendLayers(img, must[v1.Layer](t)(random.Layer(100, types.OCILayer))))
		return mutate.Subject(img, subjDesc).(v1.Image)
	}
	w := &wire{}
	var pushed []v1.Hash
	for _, at := range []string{sbom, sig} {
		a := artifact(at)
		d := must[v1.Hash](t)(a.Digest())
		pushed = append(pushed, d)
		if err := remote.Write(r.ref("lab/app@"+d.String()), a, remote.WithTransport(w)); err != nil {
			t.Fatal(err)
		}
	}
	subjects := 0
	for _, e := range w.take() {
		if e.method == "PUT" && strings.Contains(e.path, "/manifests/") {
			if got := e.respHeader.Get("OCI-Subject"); got != subjDesc.Digest.String() {
				t.Errorf("PUT %s: OCI-Subject %q, want %s", e.path, got, subjDesc.Digest)
			}
			subjects++
		}
	}
	if subjects != 2 {
		t.Fatalf("%d manifest PUTs seen, want 2", subjects)
	}
	sd := must[name.Digest](t)(name.NewDigest(r.host()+"/lab/app@"+subjDesc.Digest.String(), name.Insecure))
	idx := must[v1.ImageIndex](t)(remote.Referrers(sd))
	im := must[*v1.IndexManifest](t)(idx.IndexManifest())
	var got []v1.Hash
	for _, m := range im.Manifests {
		got = append(got, m.Digest)
	}
	slices.SortFunc(got, func(a, b v1.Hash) int { return strings.Compare(a.String(), b.String()) })
	slices.SortFunc(pushed, func(a, b v1.Hash) int { return strings.Compare(a.String(), b.String()) })
	if !slices.Equal(got, pushed) {
		t.Fatalf("referrers %v, want %v", got, pushed)
	}
	filtered := must[v1.ImageIndex](t)(remote.Referrers(sd, remote.WithFilter("artifactType", sig)))
	fm := must[*v1.IndexManifest](t)(filtered.IndexManifest())
	if len(fm.Manifests) != 1 || fm.Manifests[0].ArtifactType != sig {
		t.Fatalf("filtered referrers %+v", fm.Manifests)
	}
	// The registry keeps the list: the client made no fallback tag.
	tags := must[[]string](t)(remote.List(r.repo("lab/app")))
	if !slices.Equal(tags, []string{"v1"}) {
		t.Fatalf("tags %v: a referrers fallback tag was pushed", tags)
	}
}

func TestRoundTripTagsAndDeletes(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := must[v1.Image](t)(random.Image(256, 1))
	v1Ref := r.ref("lab/app:v1")
	if err := remote.Write(v1Ref, img); err != nil {
		t.Fatal(err)
	}
	v2Tag := must[name.Tag](t)(name.NewTag(r.host()+"/lab/app:v2", name.Insecure))
	if err := remote.Tag(v2Tag, img); err != nil {
		t.Fatal(err)
	}
	if tags := must[[]string](t)(remote.List(r.repo("lab/app"))); !slices.Equal(tags, []string{"v1", "v2"}) {
		t.Fatalf("tags %v", tags)
	}
	if err := remote.Delete(v1Ref); err != nil {
		t.Fatal(err)
	}
	if tags := must[[]string](t)(remote.List(r.repo("lab/app"))); !slices.Equal(tags, []string{"v2"}) {
		t.Fatalf("tags after deleting v1: %v", tags)
	}
	checkPulledImage(t, v2Tag, img)
	dRef := r.ref("lab/app@" + must[v1.Hash](t)(img.Digest()).String())
	if err := remote.Delete(dRef); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []name.Reference{v2Tag, dRef} {
		_, err := remote.Image(ref)
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
			t.Fatalf("pull %s after delete: %v, want 404", ref, err)
		}
		if len(terr.Errors) == 0 || terr.Errors[0].Code != transport.ManifestUnknownErrorCode {
			t.Fatalf("pull %s after delete: %+v, want MANIFEST_UNKNOWN", ref, terr.Errors)
		}
	}
	if err := remote.Delete(dRef); err == nil {
		t.Fatal("deleting a deleted manifest succeeded")
	}
}

func TestRoundTripPagination(t *testing.T) {
	t.Parallel()
	r := newReg(t, nil)
	img := must[v1.Image](t)(random.Image(128, 1))
	var want []string
	for i := 0; i < 7; i++ {
		tag := fmt.Sprintf("t%d", i)
		want = append(want, tag)
		if err := remote.Write(r.ref("lab/app:"+tag), img); err != nil {
			t.Fatal(err)
		}
	}
	w := &wire{}
	tags := must[[]string](t)(remote.List(r.repo("lab/app"), remote.WithPageSize(2), remote.WithTransport(w)))
	if !slices.Equal(tags, want) {
		t.Fatalf("listed %v, want %v", tags, want)
	}
	if pages := countGets(w.take(), "/tags/list"); pages != 4 {
		t.Fatalf("%d pages fetched for 7 tags by 2, want 4", pages)
	}
	repos := []string{"lab/app", "lab/b", "lab/c", "lab/d", "lab/e"}
	for _, repo := range repos[1:] {
		if err := remote.Write(r.ref(repo+":v1"), img); err != nil {
			t.Fatal(err)
		}
	}
	reg := r.repo("lab/app").Registry
	got := must[[]string](t)(remote.Catalog(context.Background(), reg, remote.WithPageSize(2), remote.WithTransport(w)))
	if !slices.Equal(got, repos) {
		t.Fatalf("catalog %v, want %v", got, repos)
	}
	if pages := countGets(w.take(), "/_catalog"); pages < 3 {
		t.Fatalf("%d catalog pages fetched for 5 repositories by 2, want at least 3", pages)
	}
	page := must[[]string](t)(remote.CatalogPage(reg, "lab/b", 2))
	if !slices.Equal(page, repos[2:4]) {
		t.Fatalf("catalog page after lab/b: %v", page)
	}
}

// tarOf is a tar archive holding one file.
func tarOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func countGets(ex []exchange, suffix string) int {
	n := 0
	for _, e := range ex {
		if e.method == "GET" && strings.HasSuffix(e.path, suffix) {
			n++
		}
	}
	return n
}
