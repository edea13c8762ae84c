package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

type duPage struct {
	Repositories []struct {
		Name           string
		LogicalBytes   int64 `json:"logical_bytes"`
		ExclusiveBytes int64 `json:"exclusive_bytes"`
	}
	PhysicalBytes int64     `json:"physical_bytes"`
	Generation    string    `json:"generation"`
	AsOf          time.Time `json:"as_of"`
	Stale         *bool     `json:"stale"`
}

// TestDiskUsageAnswer: /api/du says what it reflects (generation, as_of,
// stale), pages its repositories like the catalog, agrees with the
// index's /api/storage and /api/repositories, and follows a push.
func TestDiskUsageAnswer(t *testing.T) {
	ts := registrytest.New(t, registrytest.Options{}).Server
	pushFamily(t, ts, authn.Anonymous)

	var all duPage
	getAs(t, ts, "/api/du", "", &all)
	if len(all.Repositories) != 3 || all.Generation == "" || all.AsOf.IsZero() || all.Stale == nil || *all.Stale {
		t.Fatalf("/api/du: %+v; want 3 repositories, a generation, as_of and stale false", all)
	}
	var storage struct {
		Repositories []struct {
			Name           string
			LogicalBytes   int64  `json:"logical_bytes"`
			ExclusiveBytes *int64 `json:"exclusive_bytes"`
		}
	}
	getAs(t, ts, "/api/storage", "", &storage)
	var repos struct {
		Repositories []struct {
			Name         string
			LogicalBytes int64  `json:"logical_bytes"`
			UniqueBytes  *int64 `json:"unique_bytes"`
		}
	}
	getAs(t, ts, "/api/repositories", "", &repos)
	for i, r := range all.Repositories {
		s, b := storage.Repositories[i], repos.Repositories[i]
		if s.Name != r.Name || s.LogicalBytes != r.LogicalBytes || *s.ExclusiveBytes != r.ExclusiveBytes ||
			b.Name != r.Name || b.LogicalBytes != r.LogicalBytes || *b.UniqueBytes != r.ExclusiveBytes {
			t.Errorf("%s: /api/du %+v, /api/storage %+v, /api/repositories %+v: want the same bytes", r.Name, r, s, b)
		}
	}

	var page duPage
	resp := getAs(t, ts, "/api/du?n=2", "", &page)
	link := resp.Header.Get("Link")
	if len(page.Repositories) != 2 || page.Repositories[1].Name != all.Repositories[1].Name || page.PhysicalBytes != all.PhysicalBytes ||
		!strings.Contains(link, "last="+strings.ReplaceAll(all.Repositories[1].Name, "/", "%2F")) {
		t.Fatalf("/api/du?n=2: %+v, Link %q", page, link)
	}
	resp = getAs(t, ts, "/api/du?n=2&last="+all.Repositories[1].Name, "", &page)
	if len(page.Repositories) != 1 || page.Repositories[0].Name != all.Repositories[2].Name || resp.Header.Get("Link") != "" {
		t.Fatalf("the second page: %+v, Link %q", page, resp.Header.Get("Link"))
	}
	if resp, err := http.Get(ts.URL + "/api/du?n=x"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("/api/du?n=x: %v %v, want 400", resp.StatusCode, err)
	}

	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(strings.TrimPrefix(ts.URL, "http://") + "/lab/zzz:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	var after duPage
	getAs(t, ts, "/api/du", "", &after)
	if len(after.Repositories) != 4 || after.Repositories[3].Name != "lab/zzz" || after.Generation == all.Generation || *after.Stale {
		t.Fatalf("after a push: %+v; want lab/zzz, a new generation, current", after)
	}
}
