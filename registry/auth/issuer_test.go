package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIssuerGrants checks what the issuer puts in tokens: the part of each
// requested scope the rules allow, pull for anonymous clients only when
// anonymous pull is on, the catalog for known users only.
func TestIssuerGrants(t *testing.T) {
	line := fastLine(t, "alice", "pw")
	file := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(file, []byte(line+"\n"), 0o600)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, anon := range []bool{false, true} {
		b, err := New(Config{HtpasswdFile: file, AnonymousPull: anon, Rules: "alice=push:lab/*,pull:*"})
		if err != nil {
			t.Fatal(err)
		}
		iss, err := newIssuer(b, key, "layerlab", "layerlab", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		anonPull := ""
		if anon {
			anonPull = "repository:lab/app:pull"
		}
		for _, c := range []struct{ user, want, got string }{
			{"alice", "repository:lab/app:pull,push,delete", "repository:lab/app:pull,push,delete"},
			{"alice", "repository:other:pull,push", "repository:other:pull"},
			{"alice", "registry:catalog:*", "registry:catalog:*"},
			{"alice", "repository:lab/app:fly", ""},
			{"", "repository:lab/app:pull,push", anonPull},
			{"", "registry:catalog:*", ""},
		} {
			want, _ := ParseScope(c.want)
			g, ok := iss.grant(c.user, want)
			if got := map[bool]string{true: g.String(), false: ""}[ok]; got != c.got {
				t.Errorf("anonymous pull %v, %q asks %s: granted %q, want %q", anon, c.user, c.want, got, c.got)
			}
		}
	}
	if s, ok := ParseScope("repository:localhost:5000/lab/app:pull"); !ok || s.Name != "localhost:5000/lab/app" {
		t.Errorf("a name with a colon: %+v", s)
	}
}

// aliceIssuer is an issuer for one user, alice (password "pw", may push to
// lab/*, pull everything).
func aliceIssuer(t *testing.T) *Issuer {
	t.Helper()
	line := fastLine(t, "alice", "pw")
	file := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(file, []byte(line+"\n"), 0o600)
	b, err := New(Config{HtpasswdFile: file, Rules: "alice=push:lab/*,pull:*"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss, err := newIssuer(b, key, "layerlab", "layerlab", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// TestIssuerHTTP pins what the token endpoint answers: OAuth2 error codes
// and statuses, the Basic challenge on a wrong password, the failed-login
// limit, and several scopes in one space-separated parameter.
func TestIssuerHTTP(t *testing.T) {
	iss := aliceIssuer(t)
	ask := func(method, target, user, pass string, form url.Values) *httptest.ResponseRecorder {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		r := httptest.NewRequest(method, target, body)
		if form != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		w := httptest.NewRecorder()
		iss.ServeHTTP(w, r)
		return w
	}
	oauthCode := func(w *httptest.ResponseRecorder) string {
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		return e.Error
	}

	w := ask("GET", "/auth/token?service=layerlab&scope="+url.QueryEscape("repository:lab/a:pull,push registry:catalog:*"), "alice", "pw", nil)
	var resp struct {
		Token     string `json:"token"`
		ExpiresIn int    `json:"expires_in"`
	}
	json.Unmarshal(w.Body.Bytes(), &resp)
	v, err := NewToken(TokenConfig{Service: "layerlab", Issuer: "layerlab", Local: iss.Public()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.verify(resp.Token)
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" || resp.ExpiresIn != 60 || err != nil ||
		len(c.Access) != 2 || c.Access[0].String() != "repository:lab/a:pull,push" || c.Access[1].String() != Catalog.String() {
		t.Fatalf("two scopes in one parameter: %d %s %v", w.Code, w.Body, err)
	}
	for _, tc := range []struct {
		what           string
		w              *httptest.ResponseRecorder
		status         int
		code           string
		basicChallenge bool
	}{
		{"refresh-token grant", ask("POST", "/auth/token", "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}), 400, "unsupported_grant_type", false},
		{"another service", ask("GET", "/auth/token?service=other", "alice", "pw", nil), 400, "invalid_request", false},
		{"wrong password", ask("POST", "/auth/token", "", "", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"nope"}}), 401, "invalid_grant", true},
	} {
		if tc.w.Code != tc.status || oauthCode(tc.w) != tc.code || (tc.w.Header().Get("WWW-Authenticate") != "") != tc.basicChallenge {
			t.Errorf("%s: %d %s %q, want %d %s", tc.what, tc.w.Code, tc.w.Body, tc.w.Header().Get("WWW-Authenticate"), tc.status, tc.code)
		}
	}
	for i := 0; i < maxFailures; i++ { // one failure above: this reaches the limit and one more
		w = ask("GET", "/auth/token", "alice", "guess", nil)
	}
	if w.Code != http.StatusTooManyRequests {
		t.Errorf("after %d failed logins: %d, want 429", maxFailures+1, w.Code)
	}

	// Basic credentials sent to a registry that takes tokens: 401 that says so.
	r := httptest.NewRequest("GET", "http://reg.example/v2/", nil)
	r.SetBasicAuth("alice", "pw")
	rec := httptest.NewRecorder()
	if _, err := v.Authorize(rec, r, Scope{}); !errors.Is(err, ErrUnauthorized) ||
		!strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_request"`) {
		t.Errorf("Basic credentials to a bearer registry: %v %q", err, rec.Header().Get("WWW-Authenticate"))
	}
}

// TestIssuerBoundsRequests: a huge form, too many scopes or an overlong
// scope get OAuth2 errors before any password is checked, and what a
// permitted request yields stays a small token.
func TestIssuerBoundsRequests(t *testing.T) {
	iss := aliceIssuer(t)
	post := func(form string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/auth/token", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		iss.ServeHTTP(w, r)
		return w
	}
	login := "grant_type=password&username=alice&password=pw&service=layerlab"
	var many strings.Builder
	for i := range 100000 { // 7.4 MiB of scopes, as an attacker sent
		fmt.Fprintf(&many, "&scope=repository:lab/app%d:pull,push,delete", i)
	}
	var seventeen strings.Builder
	for i := range 17 {
		fmt.Fprintf(&seventeen, "&scope=repository:lab/app%d:pull", i)
	}
	for _, c := range []struct {
		what, form string
		status     int
		code       string
	}{
		{"7 MiB form", login + many.String(), http.StatusRequestEntityTooLarge, "invalid_request"},
		{"17 scopes", login + seventeen.String(), http.StatusBadRequest, "invalid_scope"},
		{"17 scopes in one parameter", login + "&scope=" + url.QueryEscape(strings.Repeat("repository:a:pull ", 17)), http.StatusBadRequest, "invalid_scope"},
		{"a 600-byte scope", login + "&scope=repository:" + strings.Repeat("a", 600) + ":pull", http.StatusBadRequest, "invalid_scope"},
	} {
		w := post(c.form)
		var e struct{ Error string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != c.status || e.Error != c.code {
			t.Errorf("%s: %d %.200s, want %d %s", c.what, w.Code, w.Body, c.status, c.code)
		}
		if w.Body.Len() > 4096 {
			t.Errorf("%s: a %d-byte answer", c.what, w.Body.Len())
		}
	}
	var sixteen strings.Builder
	for i := range 16 {
		fmt.Fprintf(&sixteen, "&scope=repository:lab/%s%d:pull,push,delete", strings.Repeat("n", 240), i)
	}
	w := post(login + sixteen.String())
	if w.Code != http.StatusOK || w.Body.Len() > 2*maxTokenSize+512 {
		t.Errorf("16 long scopes: %d, %d bytes", w.Code, w.Body.Len())
	}
}
