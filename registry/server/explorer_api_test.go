package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/ui"
)

// TestExplorerAPI: the answers the explorer's views are built from.
func TestExplorerAPI(t *testing.T) {
	ts := registrytest.New(t, registrytest.Options{}).Server
	base, appA, appB := pushFamily(t, ts, authn.Anonymous)

	var repos struct {
		Repositories []struct {
			Name         string
			Tags         int
			Manifests    int
			LogicalBytes int64  `json:"logical_bytes"`
			UniqueBytes  *int64 `json:"unique_bytes"`
		}
	}
	getAs(t, ts, "/api/repositories", "", &repos)
	if len(repos.Repositories) != 3 {
		t.Fatalf("repositories: %+v", repos.Repositories)
	}
	for _, r := range repos.Repositories {
		if r.Tags != 1 || r.Manifests != 1 || r.UniqueBytes == nil || *r.UniqueBytes <= 0 || *r.UniqueBytes >= r.LogicalBytes {
			t.Errorf("%s: %+v: want 1 tag, 1 manifest, 0 < unique < logical (the base's layers are shared)", r.Name, r)
		}
	}

	var tags struct {
		Name string
		Tags []struct {
			Name, Digest, Kind string
			MediaType          string `json:"media_type"`
			Size               int64
		}
	}
	getAs(t, ts, "/api/repositories/lab/app-a/tags", "", &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].Name != "1.0" || tags.Tags[0].Digest != appA || tags.Tags[0].Kind != "image" ||
		tags.Tags[0].MediaType == "" || tags.Tags[0].Size <= 0 {
		t.Errorf("tags of lab/app-a: %+v", tags)
	}
	for path, want := range map[string]int{"/api/repositories/lab/nope/tags": 404, "/api/repositories/Bad..Name/tags": 400} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}

	var largest struct {
		Blobs []struct {
			Digest       string
			Size         int64
			Repositories []string
		}
	}
	getAs(t, ts, "/api/blobs/largest?n=3", "", &largest)
	if len(largest.Blobs) != 3 || largest.Blobs[0].Size < largest.Blobs[1].Size || largest.Blobs[1].Size < largest.Blobs[2].Size {
		t.Errorf("largest blobs: %+v", largest.Blobs)
	}

	// The storage view's figures, from the index, agree with the walk of
	// `registry du`.
	type repoFig struct {
		Name           string
		LogicalBytes   int64 `json:"logical_bytes"`
		ExclusiveBytes int64 `json:"exclusive_bytes"`
	}
	type figures struct {
		Repositories      []repoFig
		Blobs             int
		PhysicalBytes     int64 `json:"physical_bytes"`
		LogicalBytes      int64 `json:"logical_bytes"`
		ReferencedBytes   int64 `json:"referenced_bytes"`
		UnreferencedBytes int64 `json:"unreferenced_bytes"`
		SharedBlobs       int   `json:"shared_blobs"`
		DedupSavedBytes   int64 `json:"dedup_saved_bytes"`
	}
	var fromIndex, fromWalk figures
	getAs(t, ts, "/api/storage", "", &fromIndex)
	getAs(t, ts, "/api/du", "", &fromWalk)
	if fmt.Sprint(fromIndex) != fmt.Sprint(fromWalk) || fromIndex.DedupSavedBytes <= 0 || fromIndex.SharedBlobs != 2 {
		t.Errorf("storage from the index:\n %+v\nfrom the walk:\n %+v", fromIndex, fromWalk)
	}

	var tree struct {
		Images []struct{ Digest, Parent string }
	}
	getAs(t, ts, "/api/tree", "", &tree)
	parents := map[string]string{}
	for _, n := range tree.Images {
		parents[n.Digest] = n.Parent
	}
	if len(parents) != 3 || parents[base] != "" || parents[appA] != base || parents[appB] != base {
		t.Errorf("tree: %+v", tree.Images)
	}

	top := layerDigestsOf(t, ts, base)[1]
	var files struct {
		Compression string
		Files       []struct{ Path, Type string }
	}
	getAs(t, ts, "/api/blobs/"+top+"/files", "", &files)
	if files.Compression != "gzip" || len(files.Files) != 2 || files.Files[1].Path != "usr/share/"+hostile {
		t.Errorf("files of %s: %+v", top, files)
	}
}

// TestExplorerOff: --ui=false serves neither the pages nor their streams.
func TestExplorerOff(t *testing.T) {
	for _, on := range []bool{true, false} {
		h := handlerWith(t, func(cfg *config.Config) { cfg.UI = on })
		for _, path := range []string{"/ui/", "/ui/app.js", "/api/info"} {
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, httptest.NewRequest("GET", path, nil))
			if want := map[bool]int{true: 200, false: 404}[on]; rr.Code != want {
				t.Errorf("ui=%v: %s: %d, want %d", on, path, rr.Code, want)
			}
		}
	}
}

// TestLiveStreamIsBounded: at most ui.MaxLiveSubscribers streams; one more
// is refused with 503, and a stream sees a request made meanwhile.
func TestLiveStreamIsBounded(t *testing.T) {
	ts := registrytest.New(t, registrytest.Options{}).Server
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var first *bufio.Reader
	for i := range ui.MaxLiveSubscribers + 1 {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		want := 200
		if i == ui.MaxLiveSubscribers {
			want = 503
		}
		if resp.StatusCode != want {
			t.Fatalf("stream %d: %d, want %d", i+1, resp.StatusCode, want)
		}
		if i == 0 {
			first = bufio.NewReader(resp.Body)
		}
	}
	if resp, err := http.Get(ts.URL + "/v2/lab/none/tags/list"); err == nil {
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		line, err := first.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"path":"/v2/lab/none/tags/list"`) && strings.Contains(line, `"status":404`) {
			return
		}
	}
	t.Fatal("the stream never showed the request")
}
