package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/layerlab/layerlab/registry/config"
)

// tokenFor asks the registry's own issuer for a token.
func tokenFor(t *testing.T, base, user, scope string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/auth/token?service=layerlab&scope="+url.QueryEscape(scope), nil)
	req.SetBasicAuth(user, user+"-pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.Token
}

// TestBearerEdges: the scheme is case-insensitive; a forged signature is
// refused with a plain reason (the library's words stay in the log); the
// realm never follows a Host header the registry cannot vouch for.
func TestBearerEdges(t *testing.T) {
	t.Parallel()
	ts, logs := authServerWith(t, func(cfg *config.Config, dir string) {
		cfg.TokenSignKey, _ = signingKey(t, dir)
	})
	token := tokenFor(t, ts.URL, "bob", "repository:lab/app:pull")
	get := func(authz, host string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", ts.URL+"/v2/lab/app/tags/list", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		// 404: the token was accepted, the repository does not exist.
		if resp, body := get(scheme+" "+token, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%q scheme: %d %s", scheme, resp.StatusCode, body)
		}
	}

	parts := strings.Split(token, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[5] ^= 1 // well formed, no longer the signature
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	resp, body := get("Bearer "+forged, "")
	if resp.StatusCode != 401 || !strings.Contains(body, "token signature is invalid") {
		t.Errorf("forged token: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "go-jose") || strings.Contains(body, "cryptographic") {
		t.Errorf("the client reads the library's error: %s", body)
	}
	if !strings.Contains(logs.String(), "cryptographic primitive") {
		t.Error("the log lost the library's reason for refusing the token")
	}

	host := strings.TrimPrefix(ts.URL, "http://")
	for given, want := range map[string]string{
		"evil.example":      host,
		"evil.example:5000": host,
		"10.9.8.7:80":       host,
		host:                host,
		"localhost:9999":    "localhost:9999",
		"[::1]:5000":        "[::1]:5000",
		`a"b`:               host, // refused by net/http before reaching us, or not vouched for
	} {
		resp, _ := get("", given)
		if resp.StatusCode == http.StatusBadRequest {
			continue // net/http refused the Host header itself
		}
		c := resp.Header.Get("WWW-Authenticate")
		if !strings.Contains(c, `realm="http://`+want+`/auth/token"`) {
			t.Errorf("Host %q: challenge %q, want the realm on %s", given, c, want)
		}
	}
}
