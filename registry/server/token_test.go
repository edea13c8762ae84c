package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/config"
)

// signingKey writes a fresh P-256 private key as PEM.
func signingKey(t *testing.T, dir string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	file := filepath.Join(dir, "token.key")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, key
}

// wantRefused checks a client error carries the registry's refusal.
func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") && !strings.Contains(err.Error(), "401") {
		t.Errorf("%s: %v, want a 401 refusal", what, err)
	}
}

// TestBearerTokensIssuedHere runs the Docker token flow against the
// registry's own issuer: go-containerregistry gets the Bearer challenge,
// asks /auth/token with Basic credentials and the scope, and retries.
func TestBearerTokensIssuedHere(t *testing.T) {
	t.Parallel()
	ts, logs := authServerWith(t, func(cfg *config.Config, dir string) {
		cfg.TokenSignKey, _ = signingKey(t, dir)
	})
	resp, err := http.Get(ts.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	want := `Bearer realm="http://` + host + `/auth/token",service="layerlab"`
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("/v2/: %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}

	if err := push(ts, "lab/app:1", basic("alice")); err != nil {
		t.Fatalf("alice pushes to lab/: %v", err)
	}
	if err := pull(ts, "lab/app:1", basic("bob")); err != nil {
		t.Fatalf("bob pulls: %v", err)
	}
	wantRefused(t, "alice pushes outside lab/", push(ts, "other/x:1", basic("alice")))
	wantRefused(t, "bob pushes", push(ts, "lab/bob:1", basic("bob")))
	wantRefused(t, "anonymous pull", pull(ts, "lab/app:1", authn.Anonymous))
	if err := pull(ts, "lab/app:1", &authn.Basic{Username: "alice", Password: "wrong"}); err == nil {
		t.Error("a wrong password got a token")
	}
	repos, err := remote.Catalog(t.Context(), mustRegistry(t, host), remote.WithAuth(basic("carol")))
	if err != nil || len(repos) != 1 {
		t.Errorf("catalog as carol: %v %v", repos, err)
	}
	ref, _ := name.ParseReference(host+"/lab/app:1", name.Insecure)
	if err := remote.Delete(ref, remote.WithAuth(basic("bob"))); err == nil {
		t.Error("bob deleted a tag")
	}
	if err := remote.Delete(ref, remote.WithAuth(basic("alice"))); err != nil {
		t.Errorf("alice deletes in lab/: %v", err)
	}

	// What `docker login` sends first: an OAuth2 password grant.
	form := url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"bob-pw"},
		"service": {"layerlab"}, "scope": {"repository:lab/app:pull,push"}, "client_id": {"docker"}}
	resp, err = http.PostForm(ts.URL+"/auth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" || tok.ExpiresIn != 300 {
		t.Fatalf("password grant: %d %+v", resp.StatusCode, tok)
	}
	var claims struct {
		Sub    string
		Access []auth.Scope
	}
	json.Unmarshal(decodeClaims(t, tok.AccessToken), &claims)
	if claims.Sub != "bob" || len(claims.Access) != 1 || claims.Access[0].String() != "repository:lab/app:pull" {
		t.Errorf("bob asked for pull,push and got %+v, want pull only", claims)
	}
	for _, c := range []struct {
		path   string
		status int
	}{{"/v2/", 200}, {"/v2/lab/app/tags/list", 200}, {"/v2/_catalog", 401}} {
		req, _ := http.NewRequest("GET", ts.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s with bob's token: %d %s, want %d", c.path, resp.StatusCode, body, c.status)
		}
	}
	form.Set("password", "wrong")
	resp, _ = http.PostForm(ts.URL+"/auth/token", form)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("password grant with a wrong password: %d", resp.StatusCode)
	}
	refused := false
	for _, l := range strings.Split(logs.String(), "\n") {
		refused = refused || strings.Contains(l, `"route":"auth.token"`) && strings.Contains(l, `"user":"bob"`) && strings.Contains(l, `"status":401`)
	}
	if !refused {
		t.Error("no access line names bob's refused token request")
	}
	if l := logs.String(); strings.Contains(l, "-pw") || strings.Contains(l, tok.AccessToken) {
		t.Error("a password or a token reached the log")
	}
	if !strings.Contains(logs.String(), `"event":"token_issued"`) || !strings.Contains(logs.String(), `"granted":"repository:lab/app:pull"`) {
		t.Error("the log does not show the tokens issued and what they grant")
	}
}

// TestBearerTokensFromAnotherServer puts the registry behind a separate
// auth server that publishes its keys as a JWKS, as a team's existing
// token service would.
func TestBearerTokensFromAnotherServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyFile, key := signingKey(t, dir)
	users, _ := auth.HashPassword("dave", "dave-pw")
	os.WriteFile(filepath.Join(dir, "users"), []byte(users+"\n"), 0o600)
	basicUsers, err := auth.New(auth.Config{HtpasswdFile: filepath.Join(dir, "users"), Rules: "dave=push:team/*"})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer(basicUsers, keyFile, "https://auth.team.example", "registry.team.example", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/token", issuer)
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: auth.KeyID(key.Public())}}})
	})
	authSrv := httptest.NewServer(mux)
	defer authSrv.Close()

	ts, _ := authServerWith(t, func(cfg *config.Config, _ string) {
		cfg.AuthHtpasswd = "" // the users live in the auth server
		// A name, not an IP literal: go-containerregistry refuses realms on
		// private addresses other than the registry's own.
		cfg.TokenRealm = strings.Replace(authSrv.URL, "127.0.0.1", "localhost", 1) + "/token"
		cfg.TokenKeys = authSrv.URL + "/jwks"
		cfg.TokenService = "registry.team.example"
		cfg.TokenIssuer = "https://auth.team.example"
	})
	if err := push(ts, "team/app:1", &authn.Basic{Username: "dave", Password: "dave-pw"}); err != nil {
		t.Fatalf("push with a token from the auth server: %v", err)
	}
	if err := pull(ts, "team/app:1", &authn.Basic{Username: "dave", Password: "dave-pw"}); err != nil {
		t.Fatalf("pull: %v", err)
	}
	wantRefused(t, "push outside team/", push(ts, "other/app:1", &authn.Basic{Username: "dave", Password: "dave-pw"}))

	// A token for another service is refused, with the reason in the challenge.
	other, _ := auth.NewIssuer(basicUsers, keyFile, "https://auth.team.example", "another-registry", time.Minute)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/token?service=another-registry&scope=repository:team/app:pull", nil)
	req.SetBasicAuth("dave", "dave-pw")
	other.ServeHTTP(rec, req)
	var tok struct{ Token string }
	json.NewDecoder(rec.Body).Decode(&tok)
	req, _ = http.NewRequest("GET", ts.URL+"/v2/team/app/manifests/1", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(c, `error="invalid_token"`) || !strings.Contains(c, `scope="repository:team/app:pull"`) {
		t.Errorf("token for another service: %d %q", resp.StatusCode, c)
	}
}

func mustRegistry(t *testing.T, host string) name.Registry {
	t.Helper()
	r, err := name.NewRegistry(host, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// decodeClaims is the token's payload (not verified).
func decodeClaims(t *testing.T, token string) []byte {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	b, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return b.UnsafePayloadWithoutVerification()
}
