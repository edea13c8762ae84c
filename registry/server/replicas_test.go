package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// TestReplicasAgree: two registries serving one store (a bucket), as
// replicas behind a load balancer do, answer as one registry at once — a
// tag moved through one is what the other serves next, a manifest or blob
// deleted through one is gone from the other, referrers and catalog are
// the same on both — and each names itself on its access lines and in its
// metrics, whose totals agree once counted again. On the memory driver
// always; on S3 when the environment names a server (scripts/s3-test.sh).
func TestReplicasAgree(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		m := memory.New()
		replicasAgree(t, func() driver.Driver { return m.Share() })
	})
	t.Run("s3", func(t *testing.T) {
		replicasAgree(t, registrytest.S3(t, "replicas"))
	})
}

func replicasAgree(t *testing.T, newDriver func() driver.Driver) {
	var r [2]*registrytest.Registry
	for i := range r {
		store, err := storage.Open("", storage.Options{Driver: newDriver(), Recount: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		instance := fmt.Sprintf("r%d", i+1)
		r[i] = registrytest.New(t, registrytest.Options{Store: store, LogLevel: "info",
			Config: func(c *config.Config) { c.Instance = instance }})
	}
	ref := func(i int, s string) name.Reference { return r[i].Ref(t, s) }
	digestOn := func(i int, s string) v1.Hash {
		t.Helper()
		desc, err := remote.Head(ref(i, s))
		if err != nil {
			t.Fatalf("HEAD %s on r%d: %v", s, i+1, err)
		}
		return desc.Digest
	}

	// A tag moved back and forth: each replica serves the last move at once.
	var imgs [4]v1.Image
	for n := range imgs {
		imgs[n], _ = random.Image(1024, 2)
		by := n % 2
		if err := remote.Write(ref(by, "lab/app:latest"), imgs[n]); err != nil {
			t.Fatal(err)
		}
		want, _ := imgs[n].Digest()
		if got := digestOn(1-by, "lab/app:latest"); got != want {
			t.Fatalf("move %d through r%d: r%d serves lab/app:latest as %s, want %s", n, by+1, 2-by, got, want)
		}
	}

	// Referrers of the last image, pushed through r1, listed alike on both.
	subject, _ := imgs[3].Digest()
	subjDesc, err := remote.Get(ref(0, "lab/app@"+subject.String()))
	if err != nil {
		t.Fatal(err)
	}
	const sbom = "application/vnd.example.sbom.v1+json"
	art := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), sbom)
	art = mutate.Subject(art, subjDesc.Descriptor).(v1.Image)
	artDigest, _ := art.Digest()
	if err := remote.Write(ref(0, "lab/app@"+artDigest.String()), art); err != nil {
		t.Fatal(err)
	}
	referrers := func(i int) []string {
		t.Helper()
		d, _ := name.NewDigest(r[i].Host+"/lab/app@"+subject.String(), name.Insecure)
		idx, err := remote.Referrers(d)
		if err != nil {
			t.Fatal(err)
		}
		im, _ := idx.IndexManifest()
		var out []string
		for _, m := range im.Manifests {
			out = append(out, m.Digest.String())
		}
		return out
	}
	if a, b := referrers(0), referrers(1); !slices.Equal(a, b) || !slices.Equal(a, []string{artDigest.String()}) {
		t.Fatalf("referrers on r1 %v, on r2 %v, want [%s] on both", a, b, artDigest)
	}

	// A second repository; the catalog is one.
	if err := remote.Write(ref(1, "lab/other:1"), imgs[0]); err != nil {
		t.Fatal(err)
	}
	if a, b := catalog(t, r[0].URL), catalog(t, r[1].URL); !slices.Equal(a, b) || !slices.Equal(a, []string{"lab/app", "lab/other"}) {
		t.Fatalf("catalog on r1 %v, on r2 %v", a, b)
	}

	// Deleted through one, gone from the other: a referrer, a manifest, a blob.
	if err := remote.Delete(ref(1, "lab/app@"+artDigest.String())); err != nil {
		t.Fatal(err)
	}
	if got := referrers(0); len(got) != 0 {
		t.Fatalf("referrer deleted through r2: r1 still lists %v", got)
	}
	first, _ := imgs[0].Digest()
	if err := remote.Delete(ref(0, "lab/other@"+first.String())); err != nil {
		t.Fatal(err)
	}
	if status(t, "GET", r[1].URL+"/v2/lab/other/manifests/"+first.String()) != http.StatusNotFound ||
		status(t, "GET", r[1].URL+"/v2/lab/other/manifests/1") != http.StatusNotFound {
		t.Fatal("manifest deleted through r1: r2 still serves it or its tag")
	}
	layers, _ := imgs[3].Layers()
	layer, _ := layers[0].Digest()
	blobURL := "/v2/lab/app/blobs/" + layer.String()
	if status(t, "HEAD", r[0].URL+blobURL) != http.StatusOK {
		t.Fatal("r1 does not serve the layer before its delete")
	}
	if got := status(t, "DELETE", r[1].URL+blobURL); got != http.StatusAccepted {
		t.Fatalf("DELETE blob through r2: %d", got)
	}
	if status(t, "HEAD", r[0].URL+blobURL) != http.StatusNotFound || status(t, "GET", r[0].URL+blobURL) != http.StatusNotFound {
		t.Fatal("blob deleted through r2: r1 still serves it")
	}

	// Each names itself, on every access line and in its metrics; their
	// totals agree (counted again once the other wrote).
	for i := range r {
		want := fmt.Sprintf("r%d", i+1)
		lines := r[i].Logs.Lines(t)
		access := 0
		for _, l := range lines {
			if l["msg"] != "request" {
				continue
			}
			access++
			if l["instance"] != want {
				t.Fatalf("access line of %s names %v: %v", want, l["instance"], l)
			}
		}
		if access == 0 {
			t.Fatalf("%s wrote no access line", want)
		}
		if m := metricsText(t, r[i].URL); !strings.Contains(m, `registry_instance_info{registry_instance="`+want+`"} 1`) {
			t.Fatalf("%s's metrics do not name it", want)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, b := gauges(t, r[0].URL), gauges(t, r[1].URL)
		if a == b && a != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replicas' totals still differ:\nr1 %s\nr2 %s", a, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func status(t *testing.T, method, url string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func catalog(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct{ Repositories []string }
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c.Repositories
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// gauges is the store's totals as a registry's metrics say them.
func gauges(t *testing.T, base string) string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(metricsText(t, base), "\n") {
		for _, g := range []string{"registry_blobs ", "registry_storage_bytes ", "registry_manifests ", "registry_repositories "} {
			if strings.HasPrefix(l, g) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "; ")
}
