package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// TestExplorerClicksFromRepositoryToCompare: a learner gets from a
// repository to the comparison with its base by clicking only — the tag's
// image, "Compare with…", then the base the picker offers.
func TestExplorerClicksFromRepositoryToCompare(t *testing.T) {
	ts := registrytest.New(t, registrytest.Options{}).Server
	base, appA, _ := pushFamily(t, ts, authn.Anonymous)
	b := newBrowser(t)
	b.do("open lab/app-a", chromedp.Navigate(ts.URL+"/ui/#/repo/lab/app-a"))
	b.wait("its tag", `document.querySelector('#tag-table a[href="#/image/`+appA+`"]') !== null`)
	b.do("open the image", chromedp.Click(chromedp.CSS(`#tag-table a[href="#/image/`+appA+`"]`)))
	b.wait("the image", `document.querySelectorAll('ol.stack > li.layer').length === 3`)
	b.do("compare with…", chromedp.Click(chromedp.CSS(`a.button[href="#/compare/`+appA+`"]`)))
	pick := `a[href="#/compare/` + appA + `,` + base + `"]`
	b.wait("the picker offers the base", `document.querySelector('`+pick+`') !== null`)
	if s := eval[string](b, `document.querySelector('`+pick+`').parentElement.textContent`); !strings.Contains(s, "lab/base:1.0") || !strings.Contains(s, "2 shared layers") {
		t.Errorf("the picker's entry for the base: %q", s)
	}
	b.do("pick the base", chromedp.Click(chromedp.CSS(pick)))
	b.wait("compare table", `document.querySelector('#compare-table') !== null`)
	shared := eval[[]string](b, `[...document.querySelectorAll('#compare-table td.layer')].map(c => c.dataset.shared)`)
	if strings.Join(shared, ",") != "true,true,false" {
		t.Errorf("cells marked shared: %v, want the base's 2 layers shared and app-a's own not", shared)
	}
	if s := eval[string](b, `document.getElementById('pull-after').textContent`); !strings.Contains(s, "A pull of lab/base:1.0 after lab/app-a:1.0 sends 0 B in 0 layers") {
		t.Errorf("pull of the base after app-a: %q", s)
	}
	b.noDialogs()
}
