package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/layerlab/layerlab/registry/config"
)

// getAs sends GET path with an Authorization header and decodes the JSON.
func getAs(t *testing.T, ts *httptest.Server, path, authz string, into any) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	req.Header.Set("Authorization", authz)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
	return resp
}

func basicHeader(user string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, user+"-pw")
	return req.Header.Get("Authorization")
}

// TestCatalogAndUsageShowOnlyWhatAUserMayPull: bob may pull lab/* only;
// the catalog (paginated over what he may see) and the storage report list
// nothing else, and the report gives him no cross-repository figures.
// carol, without a rule, sees everything; with bearer tokens issued here
// the same rules apply.
func TestCatalogAndUsageShowOnlyWhatAUserMayPull(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"basic", "token"} {
		ts, _ := authServerWith(t, func(cfg *config.Config, dir string) {
			cfg.AuthRules = "alice=push:lab/*,pull:*;bob=pull:lab/*"
			if mode == "token" {
				cfg.TokenSignKey, _ = signingKey(t, dir)
			}
		})
		for _, repo := range []string{"lab/a:1", "lab/b:1", "other/x:1", "secret/y:1"} {
			if err := push(ts, repo, basic("carol")); err != nil {
				t.Fatal(err)
			}
		}
		as := func(user string) string {
			if mode == "token" {
				return "Bearer " + tokenFor(t, ts.URL, user, "registry:catalog:*")
			}
			return basicHeader(user)
		}
		var cat struct{ Repositories []string }
		getAs(t, ts, "/v2/_catalog", as("carol"), &cat)
		if strings.Join(cat.Repositories, " ") != "lab/a lab/b other/x secret/y" {
			t.Errorf("%s: carol's catalog: %v", mode, cat.Repositories)
		}
		resp := getAs(t, ts, "/v2/_catalog?n=1", as("bob"), &cat)
		if strings.Join(cat.Repositories, " ") != "lab/a" || !strings.Contains(resp.Header.Get("Link"), "last=lab%2Fa") {
			t.Errorf("%s: bob's first page: %v, Link %q", mode, cat.Repositories, resp.Header.Get("Link"))
		}
		resp = getAs(t, ts, "/v2/_catalog?n=1&last=lab/a", as("bob"), &cat)
		if strings.Join(cat.Repositories, " ") != "lab/b" || resp.Header.Get("Link") != "" {
			t.Errorf("%s: bob's second page: %v, Link %q", mode, cat.Repositories, resp.Header.Get("Link"))
		}

		var du map[string]any
		getAs(t, ts, "/api/du", as("bob"), &du)
		raw, _ := json.Marshal(du)
		for _, hidden := range []string{"other/x", "secret/y", "exclusive_bytes", "shared", "physical_bytes", "dedup"} {
			if strings.Contains(string(raw), hidden) {
				t.Errorf("%s: bob's storage report shows %q: %s", mode, hidden, raw)
			}
		}
		if !strings.Contains(string(raw), "lab/a") || !strings.Contains(string(raw), "lab/b") {
			t.Errorf("%s: bob's storage report lacks his repositories: %s", mode, raw)
		}
		getAs(t, ts, "/api/du", as("carol"), &du)
		if raw, _ := json.Marshal(du); !strings.Contains(string(raw), "secret/y") || !strings.Contains(string(raw), "exclusive_bytes") {
			t.Errorf("%s: carol's full report: %s", mode, raw)
		}
	}
}
