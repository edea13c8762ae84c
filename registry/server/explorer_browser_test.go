package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

func TestExplorerInABrowser(t *testing.T) {
	ts := registrytest.New(t, registrytest.Options{}).Server
	b := newBrowser(t) // closed before the server: it may hold a live stream
	base, appA, appB := pushFamily(t, ts, authn.Anonymous)
	ui := ts.URL + "/ui/"

	// Repositories → a repository → an image.
	b.do("open the explorer", chromedp.Navigate(ui))
	b.wait("repositories", `document.querySelectorAll('#repo-table tbody tr').length === 3`)
	b.screenshot("1-repositories")
	b.do("filter", chromedp.SendKeys(chromedp.CSS("#repo-filter"), "app"))
	b.wait("filtered", `[...document.querySelectorAll('#repo-table tbody tr')].filter(r => !r.hidden).length === 2`)
	b.do("open lab/base", chromedp.Navigate(ui+"#/"), chromedp.Click(chromedp.CSS(`a[href="#/repo/lab/base"]`)))
	b.wait("tags of lab/base", `document.querySelector('#tag-table tbody th.tag') && document.querySelector('#tag-table tbody th.tag').textContent === '1.0'`)
	b.screenshot("2-repository")
	b.do("open the image", chromedp.Click(chromedp.CSS(`#tag-table a[href="#/image/`+base+`"]`)))
	b.wait("layers of the image", `document.querySelectorAll('ol.stack > li.layer').length === 2 && document.querySelector('pre.json') !== null`)
	also := eval[string](b, `document.querySelector('ol.stack > li.layer').innerText`)
	if !strings.Contains(also, "also in") || !strings.Contains(also, "lab/app-a:1.0") || !strings.Contains(also, "lab/app-b:1.0") {
		t.Errorf("base layer 1 does not say where else it is: %q", also)
	}
	if n := eval[int](b, `document.querySelectorAll('pre.json a.digest').length`); n < 3 {
		t.Errorf("manifest JSON has %d clickable digests, want config + 2 layers", n)
	}
	// A hostile Dockerfile step and file name are text, never markup.
	b.do("list the files of layer 2", chromedp.Click(chromedp.CSS(`ol.stack > li.layer:nth-child(2) button`)))
	b.wait("file list", `document.querySelector('table.filelist') !== null`)
	if !eval[bool](b, `document.querySelector('table.filelist').textContent.includes('usr/share/`+hostile+`')`) {
		t.Error("the hostile file name is not shown as text")
	}
	if !eval[bool](b, `document.querySelector('ol.stack').textContent.includes('# `+hostile+`')`) {
		t.Error("the hostile created_by is not shown as text")
	}
	b.screenshot("3-image")
	if n := eval[int](b, `document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("%d img elements: hostile text became markup", n)
	}

	// A hostile annotation in the manifest JSON.
	b.do("open app-b", chromedp.Navigate(ui+"#/image/"+appB))
	b.wait("app-b's manifest", `document.querySelector('pre.json') && document.querySelector('pre.json').textContent.includes('`+hostile+`')`)
	if n := eval[int](b, `document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("%d img elements: the hostile annotation became markup", n)
	}

	// Compare: the base's layers are shared, each app's own layer not.
	b.do("compare", chromedp.Navigate(ui+"#/compare/"+strings.Join([]string{base, appA, appB}, ",")))
	b.wait("compare table", `document.querySelector('#compare-table') !== null`)
	type cell struct {
		Digest string `json:"digest"`
		Shared string `json:"shared"`
	}
	cells := eval[[]cell](b, `[...document.querySelectorAll('#compare-table td.layer')].map(c => ({digest: c.dataset.digest, shared: c.dataset.shared}))`)
	shared := map[string]string{}
	for _, c := range cells {
		shared[c.Digest] = c.Shared
	}
	if len(cells) != 4 || len(shared) != 4 {
		t.Fatalf("compare cells: %+v, want 2 shared rows and the 2 apps' own layers", cells)
	}
	for i, want := range []string{"true", "true"} {
		if d := layerDigestsOf(t, ts, base)[i]; shared[d] != want {
			t.Errorf("base layer %d %s: shared=%q, want %s", i, d, shared[d], want)
		}
	}
	for _, img := range []string{appA, appB} {
		top := layerDigestsOf(t, ts, img)[2]
		if shared[top] != "false" {
			t.Errorf("%s's own layer %s: shared=%q, want false", img, top, shared[top])
		}
	}
	if n := eval[int](b, `document.querySelectorAll('#compare-table tr.connected').length`); n != 2 {
		t.Errorf("%d rows drawn connected, want 2", n)
	}
	if s := eval[string](b, `document.getElementById('pull-after').textContent`); !strings.Contains(s, "in 1 layer ") {
		t.Errorf("pull of B after A: %q", s)
	}
	b.screenshot("4-compare")

	// Family: both apps under the base.
	b.do("family", chromedp.Navigate(ui+"#/family"))
	b.wait("family tree", `document.querySelector('ul.tree') !== null`)
	under := eval[[]string](b, `[...document.querySelectorAll('ul.tree > li[data-digest="`+base+`"] > ul > li')].map(l => l.dataset.digest)`)
	if len(under) != 2 || !(under[0] == appA && under[1] == appB || under[0] == appB && under[1] == appA) {
		t.Errorf("under the base: %v, want %s and %s", under, appA, appB)
	}
	if roots := eval[int](b, `document.querySelectorAll('ul.tree > li').length`); roots != 1 {
		t.Errorf("%d roots, want the base alone", roots)
	}
	b.screenshot("5-family")

	// Storage.
	b.do("storage", chromedp.Navigate(ui+"#/storage"))
	b.wait("storage charts", `document.querySelectorAll('svg.bars rect').length >= 4`)
	b.screenshot("6-storage")

	// Live: a push's requests appear while it runs.
	b.do("live", chromedp.Navigate(ui+"#/live"))
	b.wait("live stream", `document.querySelector('[role=status]') && document.querySelector('[role=status]').textContent.startsWith('Connected')`)
	done := make(chan string, 1)
	go func() {
		steps := map[string][]string{"COPY c /app": {"app/c"}}
		img := addLayers(t, empty.Image, steps, "COPY c /app")
		ref, _ := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/lab/app-c:1.0", name.Insecure)
		err := remote.Write(ref, img)
		done <- fmt.Sprint(err)
	}()
	b.wait("the push's requests", `[...document.querySelectorAll('#live-list > li')].some(l => l.querySelector('.method').textContent === 'PUT' && l.querySelector('.path').textContent === '/v2/lab/app-c/manifests/1.0')`)
	b.wait("an upload", `[...document.querySelectorAll('#live-list > li .method')].some(m => m.textContent === 'POST')`)
	b.wait("the manifest's learner event", `[...document.querySelectorAll('#live-list li.event')].some(e => e.textContent.startsWith('manifest pushed: lab/app-c:1.0'))`)
	if err := <-done; err != "<nil>" {
		t.Fatalf("push while watching: %s", err)
	}
	b.screenshot("7-live")

	// Keyboard: Tab walks the header in order, and the focus is visible.
	b.do("reload", chromedp.Navigate("about:blank"), chromedp.Navigate(ui+"#/"))
	b.wait("repositories again", `document.querySelectorAll('#repo-table tbody tr').length === 4`)
	var order []string
	for range 6 {
		b.do("tab", chromedp.KeyEvent("\t"))
		order = append(order, eval[string](b, `document.activeElement.textContent.trim() || document.activeElement.id`))
	}
	want := []string{"layerlab explorer", "Repositories", "Family", "Storage", "Live", "repo-filter"}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Errorf("tab order %q, want %q", order, want)
	}
	if o := eval[string](b, `getComputedStyle(document.activeElement).outlineStyle`); o == "none" || o == "" {
		t.Errorf("focused element has no visible outline (%q)", o)
	}
	// Labels: every control is named, landmarks are labelled.
	unnamed := eval[[]string](b, `[...document.querySelectorAll('input, button, select')].filter(e => !e.closest('[hidden]')).filter(e =>
		!(e.getAttribute('aria-label') || (e.id && document.querySelector('label[for="' + e.id + '"]')) || e.textContent.trim())).map(e => e.outerHTML)`)
	if len(unnamed) != 0 {
		t.Errorf("controls without a name: %q", unnamed)
	}
	if !eval[bool](b, `document.querySelector('nav[aria-label]') !== null && document.querySelector('main') !== null && document.querySelector('#repo-table caption') !== null`) {
		t.Error("landmarks or captions missing")
	}
	b.do("repository again", chromedp.Navigate(ui+"#/repo/lab/app-a"))
	b.wait("tag table", `document.querySelector('#tag-table input[type=checkbox][aria-label]') !== null`)
	b.noDialogs()
}
