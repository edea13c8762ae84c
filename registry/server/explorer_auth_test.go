package server_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// TestExplorerLoginShowsOnlyWhatAUserMayPull: with authentication on, the
// explorer asks for a login, refuses a wrong password, and shows bob (who
// may pull lab/* only) neither secret/ nor its images — with Basic, and
// with bearer tokens the registry issues at /auth/token.
func TestExplorerLoginShowsOnlyWhatAUserMayPull(t *testing.T) {
	for _, mode := range []string{"basic", "bearer"} {
		t.Run(mode, func(t *testing.T) {
			ts, _ := authServerWith(t, func(cfg *config.Config, dir string) {
				cfg.AuthRules = "alice=push:lab/*,pull:*;bob=pull:lab/*"
				if mode == "bearer" {
					cfg.TokenSignKey, _ = signingKey(t, dir)
				}
			})
			base, _, _ := pushFamily(t, ts, basic("alice"))
			steps := map[string][]string{"COPY secret /": {"secret"}}
			pushImage(t, ts, "secret/x:1", addLayers(t, empty.Image, steps, "COPY secret /"), basic("carol"))
			b := newBrowser(t)
			ui := ts.URL + "/ui/"

			b.do("open the explorer", chromedp.Navigate(ui))
			b.wait("the login form", `!document.getElementById('login').hidden`)
			if n := eval[int](b, `document.querySelectorAll('#repo-table').length`); n != 0 {
				t.Error("repositories shown before login")
			}
			b.do("log in wrongly", chromedp.SendKeys(chromedp.CSS("#login-user"), "bob"),
				chromedp.SendKeys(chromedp.CSS("#login-pass"), "wrong"), chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
			b.wait("a refusal", `document.getElementById('login-error').textContent.includes('Wrong')`)
			b.screenshot("8-login-" + mode)
			b.do("log in as bob", chromedp.Evaluate[chromedp.Void](`document.getElementById('login-user').value = ''`),
				chromedp.SendKeys(chromedp.CSS("#login-user"), "bob"),
				chromedp.SendKeys(chromedp.CSS("#login-pass"), "bob-pw"), chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
			b.wait("bob's repositories", `document.querySelectorAll('#repo-table tbody tr').length > 0`)
			repos := eval[[]string](b, `[...document.querySelectorAll('#repo-table tbody tr')].map(r => r.dataset.name)`)
			if strings.Join(repos, ",") != "lab/app-a,lab/app-b,lab/base" {
				t.Errorf("bob sees %v, want lab/* only", repos)
			}
			if who := eval[string](b, `document.getElementById('who').textContent`); who != "signed in as bob" {
				t.Errorf("header says %q", who)
			}
			// The image view reads the manifest through /v2/ with bob's credentials.
			b.do("an image", chromedp.Navigate(ui+"#/image/"+base))
			b.wait("its manifest", `document.querySelector('pre.json') !== null`)
			b.do("family", chromedp.Navigate(ui+"#/family"))
			b.wait("the tree", `document.querySelector('ul.tree') !== null`)
			if s := eval[string](b, `document.getElementById('view').textContent`); strings.Contains(s, "secret") {
				t.Errorf("bob's family tree names a repository he may not pull: %q", s)
			}
			b.do("storage", chromedp.Navigate(ui+"#/storage"))
			b.wait("bob's storage view", `document.querySelectorAll('svg.bars rect').length > 0`)
			if s := eval[string](b, `document.getElementById('view').textContent`); strings.Contains(s, "secret") {
				t.Errorf("bob's storage view names a repository he may not pull: %q", s)
			}
			b.do("log out", chromedp.Click(chromedp.CSS("#logout")))
			b.wait("the login form again", `!document.getElementById('login').hidden`)
			b.noDialogs()
		})
	}
}

// TestExplorerDeletesATagAfterConfirmation: a tag's Delete button asks
// first; refused, nothing happens; accepted, the tag is gone. With deletes
// disabled no button is offered.
func TestExplorerDeletesATagAfterConfirmation(t *testing.T) {
	ts := registrytest.New(t, registrytest.Options{}).Server
	pushFamily(t, ts, authn.Anonymous)
	b := newBrowser(t)
	ui := ts.URL + "/ui/"
	b.do("open lab/app-a", chromedp.Navigate(ui+"#/repo/lab/app-a"))
	b.wait("its tag", `document.querySelector('#tag-table button.danger') !== null`)
	b.do("delete, then cancel", chromedp.Click(chromedp.CSS("#tag-table button.danger")))
	if !b.sawDialog("confirm") {
		t.Fatal("no confirmation asked")
	}
	b.do("reload", chromedp.Navigate("about:blank"), chromedp.Navigate(ui+"#/repo/lab/app-a"))
	b.wait("the tag is still there", `document.querySelectorAll('#tag-table tbody tr').length === 1`)
	b.setAccept(true)
	b.do("delete, and confirm", chromedp.Click(chromedp.CSS("#tag-table button.danger")))
	b.wait("no tag left", `document.getElementById('view').textContent.includes('No tags.')`)
	var tags struct{ Tags []any }
	getAs(t, ts, "/api/repositories/lab/app-a/tags", "", &tags)
	if len(tags.Tags) != 0 {
		t.Errorf("tags after delete: %v", tags.Tags)
	}

	off := handlerWith(t, func(cfg *config.Config) { cfg.DeleteEnabled = false })
	ts2 := httptest.NewServer(off)
	t.Cleanup(ts2.Close)
	pushFamily(t, ts2, authn.Anonymous)
	b.do("open lab/app-a where deletes are off", chromedp.Navigate(ts2.URL+"/ui/#/repo/lab/app-a"))
	b.wait("its tag", `document.querySelectorAll('#tag-table tbody tr').length === 1`)
	if n := eval[int](b, `document.querySelectorAll('#tag-table button.danger').length`); n != 0 {
		t.Errorf("%d delete buttons where deletes are disabled", n)
	}
}
