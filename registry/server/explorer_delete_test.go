package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// The rules of these tests: alice may push (and so delete) in lab/*; bob
// may pull lab/* and push lab/app-b only. Deleting counts as pushing.
const deleteRules = "alice=push:lab/*,pull:*;bob=pull:lab/*,push:lab/app-b"

// mayDeleteAs asks /api/repositories/{repo}/tags what it says of the
// caller's right to delete there.
func mayDeleteAs(t *testing.T, ts *httptest.Server, repo, authz string) bool {
	t.Helper()
	var body struct {
		MayDelete *bool `json:"may_delete"`
	}
	getAs(t, ts, "/api/repositories/"+repo+"/tags", authz, &body)
	if body.MayDelete == nil {
		t.Fatalf("%s: no may_delete in the answer", repo)
	}
	return *body.MayDelete
}

// deleteAs sends DELETE for a tag and returns the status and the error
// envelope's first code.
func deleteAs(t *testing.T, ts *httptest.Server, repo, tag, authz string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("DELETE", ts.URL+"/v2/"+repo+"/manifests/"+tag, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct{ Errors []struct{ Code string } }
	json.NewDecoder(resp.Body).Decode(&env)
	code := ""
	if len(env.Errors) > 0 {
		code = env.Errors[0].Code
	}
	return resp.StatusCode, code
}

// bearerFor gets a token from the registry's own issuer, as a header.
func bearerFor(t *testing.T, ts *httptest.Server, user, scope string) string {
	t.Helper()
	return "Bearer " + tokenFor(t, ts.URL, user, scope)
}

// TestTagsSayWhetherTheCallerMayDelete: the tags answer says, for the
// caller, what a DELETE would meet — deletes off or read-only: no one;
// authentication off: anyone; with access rules: who may push there, by
// Basic and by tokens the registry issues. A DELETE from a user told
// "no" is refused with the spec's envelope all the same.
func TestTagsSayWhetherTheCallerMayDelete(t *testing.T) {
	t.Run("auth off", func(t *testing.T) {
		root := t.TempDir()
		first := registrytest.New(t, registrytest.Options{Root: root})
		pushFamily(t, first.Server, authn.Anonymous)
		first.Close()
		for _, c := range []struct {
			name string
			edit func(*config.Config)
			want bool
		}{
			{"deletes on", func(*config.Config) {}, true},
			{"deletes off", func(c *config.Config) { c.DeleteEnabled = false }, false},
			{"read-only", func(c *config.Config) { c.ReadOnly = true }, false},
		} {
			r := registrytest.New(t, registrytest.Options{Root: root, Config: c.edit})
			if got := mayDeleteAs(t, r.Server, "lab/app-a", ""); got != c.want {
				t.Errorf("%s: may_delete %v, want %v", c.name, got, c.want)
			}
			r.Close()
		}
	})
	t.Run("basic", func(t *testing.T) {
		ts, _ := authServerWith(t, func(cfg *config.Config, dir string) { cfg.AuthRules = deleteRules })
		pushFamily(t, ts, basic("alice"))
		for _, c := range []struct {
			user, repo string
			want       bool
		}{{"alice", "lab/app-a", true}, {"bob", "lab/app-a", false}, {"bob", "lab/app-b", true}, {"bob", "lab/base", false}} {
			if got := mayDeleteAs(t, ts, c.repo, basicHeader(c.user)); got != c.want {
				t.Errorf("%s in %s: may_delete %v, want %v", c.user, c.repo, got, c.want)
			}
		}
		if status, code := deleteAs(t, ts, "lab/app-a", "1.0", basicHeader("bob")); status != 403 || code != "DENIED" {
			t.Errorf("bob's DELETE in lab/app-a: %d %s, want 403 DENIED", status, code)
		}
		if status, _ := deleteAs(t, ts, "lab/app-b", "1.0", basicHeader("bob")); status != 202 {
			t.Errorf("bob's DELETE in lab/app-b, where he may: %d, want 202", status)
		}
	})
	t.Run("bearer", func(t *testing.T) {
		ts, _ := authServerWith(t, func(cfg *config.Config, dir string) {
			cfg.AuthRules = deleteRules
			cfg.TokenSignKey, _ = signingKey(t, dir)
		})
		pushFamily(t, ts, basic("alice"))
		for _, c := range []struct {
			user, repo string
			want       bool
		}{{"alice", "lab/app-a", true}, {"bob", "lab/app-a", false}, {"bob", "lab/app-b", true}} {
			if got := mayDeleteAs(t, ts, c.repo, bearerFor(t, ts, c.user, "registry:catalog:*")); got != c.want {
				t.Errorf("%s in %s: may_delete %v, want %v", c.user, c.repo, got, c.want)
			}
		}
		tok := bearerFor(t, ts, "bob", "repository:lab/app-a:delete")
		if status, code := deleteAs(t, ts, "lab/app-a", "1.0", tok); status != 401 || code != "UNAUTHORIZED" {
			t.Errorf("bob's DELETE in lab/app-a: %d %s, want 401 UNAUTHORIZED (his token does not grant delete)", status, code)
		}
	})
}

// logIn fills the explorer's login form.
func (b *browser) logIn(ui, user string) {
	b.t.Helper()
	b.do("open the explorer", chromedp.Navigate("about:blank"), chromedp.Navigate(ui))
	b.wait("the login form", `!document.getElementById('login').hidden`)
	b.do("log in as "+user, chromedp.Evaluate[chromedp.Void](`document.getElementById('login-user').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#login-user"), user),
		chromedp.SendKeys(chromedp.CSS("#login-pass"), user+"-pw"), chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	b.wait(user+"'s repositories", `document.querySelectorAll('#repo-table tbody tr').length > 0`)
}

// TestExplorerOffersDeleteOnlyToWhoMayDelete: with authentication on,
// alice (who may delete in lab/*) gets the Delete button, a confirmation,
// and the tag is gone; bob (pull only in lab/app-a) sees no button there
// — but does in lab/app-b, where he may push — and a DELETE he sends
// anyway is refused with the spec's envelope.
func TestExplorerOffersDeleteOnlyToWhoMayDelete(t *testing.T) {
	for _, mode := range []string{"basic", "bearer"} {
		t.Run(mode, func(t *testing.T) {
			ts, _ := authServerWith(t, func(cfg *config.Config, dir string) {
				cfg.AuthRules = deleteRules
				if mode == "bearer" {
					cfg.TokenSignKey, _ = signingKey(t, dir)
				}
			})
			pushFamily(t, ts, basic("alice"))
			b := newBrowser(t)
			ui := ts.URL + "/ui/"
			tagRow := `document.querySelectorAll('#tag-table tbody tr').length === 1`
			buttons := `document.querySelectorAll('#tag-table button.danger').length`

			b.logIn(ui, "bob")
			b.do("bob opens lab/app-a", chromedp.Navigate(ui+"#/repo/lab/app-a"))
			b.wait("its tag", tagRow)
			if n := eval[int](b, buttons); n != 0 {
				t.Errorf("bob, who may only pull lab/app-a, is offered %d delete buttons", n)
			}
			b.screenshot("9-no-delete-" + mode)
			b.do("bob sends a DELETE anyway", chromedp.Evaluate[chromedp.Void](`window.refused = 0;
				fetch('/v2/lab/app-a/manifests/1.0', {method: 'DELETE', credentials: 'omit', headers: {Authorization: sessionStorage.getItem('layerlab.auth')}})
					.then(r => r.json().then(e => { window.refused = e.errors && e.errors[0] && e.errors[0].code ? r.status : -r.status; }))`))
			b.wait("the answer", `window.refused !== 0`)
			status := eval[int](b, `window.refused`)
			if status != 403 && status != 401 {
				t.Errorf("bob's DELETE from the browser: %d, want 403 or 401 with an error envelope", status)
			}
			b.do("bob opens lab/app-b", chromedp.Navigate(ui+"#/repo/lab/app-b"))
			b.wait("its tag", tagRow)
			if n := eval[int](b, buttons); n != 1 {
				t.Errorf("bob, who may push lab/app-b, is offered %d delete buttons there, want 1", n)
			}

			b.do("log out", chromedp.Click(chromedp.CSS("#logout")))
			b.logIn(ui, "alice")
			b.do("alice opens lab/app-a", chromedp.Navigate(ui+"#/repo/lab/app-a"))
			b.wait("a delete button", buttons+` === 1`)
			b.do("delete, then cancel", chromedp.Click(chromedp.CSS("#tag-table button.danger")))
			if !b.sawDialog("confirm") {
				t.Fatal("no confirmation asked")
			}
			b.do("reload", chromedp.Navigate("about:blank"), chromedp.Navigate(ui+"#/repo/lab/app-a"))
			b.wait("the tag is still there", tagRow)
			b.setAccept(true)
			b.do("delete, and confirm", chromedp.Click(chromedp.CSS("#tag-table button.danger")))
			b.wait("no tag left", `document.getElementById('view').textContent.includes('No tags.')`)
			var tags struct{ Tags []any }
			authz := basicHeader("alice")
			if mode == "bearer" {
				authz = bearerFor(t, ts, "alice", "registry:catalog:*")
			}
			getAs(t, ts, "/api/repositories/lab/app-a/tags", authz, &tags)
			if len(tags.Tags) != 0 {
				t.Errorf("tags after alice's delete: %v", tags.Tags)
			}
			if status, _ := deleteAs(t, ts, "lab/app-b", "1.0", ""); status != 401 {
				t.Errorf("anonymous DELETE: %d, want 401", status)
			}
			b.noDialogs()
		})
	}
}
