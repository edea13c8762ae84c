package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerlab/layerlab/registry/config"
)

// TestQueryAPIShowsOnlyWhatAUserMayPull: bob may pull lab/* only; the
// query API neither lists nor answers about images or blobs elsewhere,
// and says not found rather than forbidden (it does not confirm they exist).
func TestQueryAPIShowsOnlyWhatAUserMayPull(t *testing.T) {
	ts, _ := authServerWith(t, func(cfg *config.Config, dir string) {
		cfg.AuthRules = "alice=push:lab/*,pull:*;bob=pull:lab/*"
	})
	digests := map[string]string{}
	var secretLayer string
	for _, repo := range []string{"lab/a:1", "secret/y:1"} {
		img, _ := random.Image(512, 1)
		ref, _ := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/"+repo, name.Insecure)
		if err := remote.Write(ref, img, remote.WithAuth(basic("carol"))); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests[repo] = d.String()
		if repo == "secret/y:1" {
			layers, _ := img.Layers()
			ld, _ := layers[0].Digest()
			secretLayer = ld.String()
		}
	}
	var page struct {
		Images []struct {
			Digest       string
			Repositories []struct{ Name string }
		}
	}
	getAs(t, ts, "/api/images", basicHeader("bob"), &page)
	if len(page.Images) != 1 || page.Images[0].Digest != digests["lab/a:1"] || page.Images[0].Repositories[0].Name != "lab/a" {
		t.Errorf("bob's images: %+v", page.Images)
	}
	getAs(t, ts, "/api/images", basicHeader("carol"), &page)
	if len(page.Images) != 2 {
		t.Errorf("carol's images: %+v", page.Images)
	}
	var users struct{ Images []struct{ Digest string } }
	getAs(t, ts, "/api/blobs/"+secretLayer+"/images", basicHeader("carol"), &users)
	if len(users.Images) != 1 || users.Images[0].Digest != digests["secret/y:1"] {
		t.Errorf("carol: images of the secret layer: %+v", users.Images)
	}
	for _, path := range []string{"/api/images/" + digests["secret/y:1"], "/api/images/" + digests["secret/y:1"] + "/family", "/api/blobs/" + secretLayer + "/images"} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", basicHeader("bob"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("bob: GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	resp, err := http.Get(ts.URL + "/api/images")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", resp.StatusCode)
	}
}
