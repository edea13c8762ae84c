package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// TestExplorerDiffIDsAreNoBlobLinks: a config's rootfs.diff_ids are the
// digests of the layers uncompressed, no blob the registry stores; the
// image view shows each beside the layer it belongs to and links to that
// layer, never to "blob unknown".
func TestExplorerDiffIDsAreNoBlobLinks(t *testing.T) {
	ts := registrytest.New(t, registrytest.Options{}).Server
	_, appA, _ := pushFamily(t, ts, authn.Anonymous)
	ref, _ := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/lab/app-a:1.0", name.Insecure)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	m, _ := img.Manifest()
	if len(cfg.RootFS.DiffIDs) != 3 || len(m.Layers) != 3 {
		t.Fatalf("want 3 layers and 3 diff_ids, got %d and %d", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	b := newBrowser(t)
	b.do("open app-a", chromedp.Navigate(ts.URL+"/ui/#/image/"+appA))
	b.wait("its config", `document.querySelectorAll('pre.json').length === 2`)
	links := eval[[]string](b, `[...document.querySelectorAll('pre.json a.digest')].map(a => a.title)`)
	for i, id := range cfg.RootFS.DiffIDs {
		for _, l := range links {
			if l == id.String() {
				t.Errorf("diff_ids[%d] %s is a link, as if it were a stored blob", i, id)
			}
		}
	}
	type note struct {
		ID   string `json:"id"`
		Link string `json:"link"`
		Text string `json:"text"`
	}
	notes := eval[[]note](b, `[...document.querySelectorAll('pre.json .diffid')].map(s => ({id: JSON.parse(s.textContent),
		link: s.nextElementSibling.querySelector('a.digest').title, text: s.nextElementSibling.textContent}))`)
	if len(notes) != 3 {
		t.Fatalf("diff_ids shown: %+v, want 3", notes)
	}
	for i, n := range notes {
		if n.ID != cfg.RootFS.DiffIDs[i].String() || n.Link != m.Layers[i].Digest.String() || !strings.Contains(n.Text, "layer #"+string(rune('1'+i))) {
			t.Errorf("diff_ids[%d]: %+v, want %s beside a link to layer #%d %s", i, n, cfg.RootFS.DiffIDs[i], i+1, m.Layers[i].Digest)
		}
	}
	stack := eval[[]string](b, `[...document.querySelectorAll('ol.stack > li.layer p.diffid code')].map(c => c.textContent)`)
	if len(stack) != 3 || stack[2] != cfg.RootFS.DiffIDs[2].String() {
		t.Errorf("uncompressed digests in the layer stack: %v", stack)
	}
	b.noDialogs()
}
