package mirror_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/layerlab/layerlab/registry/config"
)

// TestPullThrough pulls an image and an index through the mirror from
// upstreams that want Basic credentials, bearer tokens (the Docker token
// flow) or nothing: the first pull misses and fetches, the second is
// served from the cache; the cached content is ordinary store content;
// the mirrored prefix is read-only while other repositories take pushes.
func TestPullThrough(t *testing.T) {
	for _, kind := range []upstreamKind{basicAuth, bearer, anonymous} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t, kind)
			img, _ := random.Image(2048, 3)
			idx, _ := random.Index(1024, 2, 2)
			if err := remote.Write(ref(t, up.Host, "lab/base:1.0"), img, up.auth(kind)); err != nil {
				t.Fatal(err)
			}
			if err := remote.WriteIndex(ref(t, up.Host, "lab/multi:v1"), idx, up.auth(kind)); err != nil {
				t.Fatal(err)
			}
			m := mirrorOf(t, up.URL, nil)
			// The tag list is the upstream's, before anything is cached.
			if tags, err := remote.List(m.Repo(t, "hub/lab/base"), noRetry); err != nil || len(tags) != 1 || tags[0] != "1.0" {
				t.Fatalf("tags through the mirror before any pull: %v %v", tags, err)
			}

			got, err := remote.Image(ref(t, m.Host, "hub/lab/base:1.0"), noRetry)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(got); err != nil {
				t.Fatalf("image pulled through the mirror: %v", err)
			}
			first := events(m.Logs.Take(t))
			// validate reads each layer twice: the second read is a hit.
			if len(first) == 0 || first[0] != "mirror_miss" || count(first, "mirror_miss") != 1+3+1 {
				t.Fatalf("first pull: events %v, want a miss for the manifest, the config and each layer", first)
			}
			gotIdx, err := remote.Index(ref(t, m.Host, "hub/lab/multi:v1"), noRetry)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Index(gotIdx); err != nil {
				t.Fatalf("index pulled through the mirror: %v", err)
			}
			m.Logs.Take(t)
			gets := up.blobGets.Load()
			got, _ = remote.Image(ref(t, m.Host, "hub/lab/base:1.0"), noRetry)
			if err := validate.Image(got); err != nil {
				t.Fatalf("second pull: %v", err)
			}
			second := events(m.Logs.Take(t))
			if !has(second, "mirror_hit") || has(second, "mirror_miss") {
				t.Fatalf("second pull: events %v, want hits only", second)
			}
			if up.blobGets.Load() != gets {
				t.Fatalf("the second pull fetched %d blobs upstream", up.blobGets.Load()-gets)
			}

			// The metrics count the misses, the hits and the bytes fetched.
			resp, err := http.Get(m.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, name := range []string{"registry_mirror_hits_total", "registry_mirror_misses_total", "registry_mirror_upstream_bytes_total", "registry_mirror_blob_fetches_total"} {
				if !regexp.MustCompile(`(?m)^` + name + ` [1-9]`).Match(metrics) {
					t.Errorf("metric %s missing or zero", name)
				}
			}

			// Ordinary store content: tags, manifests, du.
			tags, err := m.Store.Tags(t.Context(), "hub/lab/base")
			if err != nil || len(tags) != 1 || tags[0] != "1.0" {
				t.Fatalf("cached tags %v, %v", tags, err)
			}
			du, err := m.Store.DiskUsage(t.Context())
			if err != nil || !strings.Contains(mustJSON(t, du), "hub/lab/base") {
				t.Fatalf("du does not show the cached repository: %v", err)
			}

			// Read-only under the prefix, untouched elsewhere.
			err = remote.Write(ref(t, m.Host, "hub/lab/base:mine"), img, noRetry)
			if err == nil || !strings.Contains(err.Error(), "DENIED") || !strings.Contains(err.Error(), "read-only mirror") {
				t.Fatalf("push to the mirrored prefix: %v, want DENIED", err)
			}
			req, _ := http.NewRequest("DELETE", m.URL+"/v2/hub/lab/base/manifests/1.0", nil)
			resp, err = http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("delete in the mirrored prefix: %v %v, want 403", resp.StatusCode, err)
			}
			resp.Body.Close()
			if err := remote.Write(ref(t, m.Host, "lab/own:1"), img, noRetry); err != nil {
				t.Fatalf("push outside the mirrored prefix: %v", err)
			}
		})
	}
}

// TestUnknownUpstream: what the upstream does not have is unknown here
// too, with the spec's codes.
func TestUnknownUpstream(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, basicAuth)
	m := mirrorOf(t, up.URL, nil)
	for path, code := range map[string]string{
		"/v2/hub/lab/none/manifests/1.0":                               "MANIFEST_UNKNOWN",
		"/v2/hub/lab/none/manifests/sha256:" + strings.Repeat("a", 64): "MANIFEST_UNKNOWN",
		"/v2/hub/lab/none/blobs/sha256:" + strings.Repeat("b", 64):     "BLOB_UNKNOWN",
	} {
		resp, err := http.Get(m.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.Contains(string(body), code) {
			t.Errorf("%s: %d %s, want 404 %s", path, resp.StatusCode, body, code)
		}
	}
	// Wrong credentials: the upstream refuses, the mirror says it is unavailable.
	bad := mirrorOf(t, up.URL, func(c *config.Config) { c.Mirror.Credentials = "" })
	resp, err := http.Get(bad.URL + "/v2/hub/lab/none/manifests/1.0")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("anonymous against a Basic upstream: %d, want 503", resp.StatusCode)
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
