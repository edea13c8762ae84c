package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// mint signs claims as an auth server would; header options pick how the
// key is named (kid, x5c, jwk, or nothing).
func mint(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, opts *jose.SignerOptions, claims any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func claimsFor(aud, iss string, exp time.Time, access ...Scope) tokenClaims {
	return tokenClaims{Claims: jwt.Claims{Issuer: iss, Subject: "alice", Audience: jwt.Audience{aud},
		Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(time.Now())}, Access: access}
}

func writePEM(t *testing.T, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func pubDER(t *testing.T, k crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// authorize runs a request with the token through the verifier.
func authorize(v *Token, token string, need Scope) (string, *httptest.ResponseRecorder, error) {
	r := httptest.NewRequest("GET", "http://reg.example/v2/", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	user, err := v.Authorize(w, r, need)
	return user, w, err
}

func TestBearerTokenChecks(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := writePEM(t, filepath.Join(dir, "keys.pem"), "PUBLIC KEY", pubDER(t, key.Public()))
	v, err := NewToken(TokenConfig{Realm: "https://auth.example/token", Service: "reg", Issuer: "auth", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	libtrustKID := (&jose.SignerOptions{}).WithHeader("kid", LibtrustKeyID(pubDER(t, key.Public())))
	hour := time.Now().Add(time.Hour)
	good := claimsFor("reg", "auth", hour, Push("lab/app"), Catalog)
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("a shared secret that is never accepted here")}, nil)
	hsToken, _ := jwt.Signed(hs).Claims(good).Serialize()
	noExp := good
	noExp.Expiry = nil

	cases := []struct {
		what  string
		token string
		need  Scope
		ok    bool
		why   string // in the error, and the challenge's error=
	}{
		{"valid, push", mint(t, key, jose.ES256, libtrustKID, good), Push("lab/app"), true, ""},
		{"valid, pull is part of push", mint(t, key, jose.ES256, nil, good), Pull("lab/app"), true, ""},
		{"valid, /v2/ needs no scope", mint(t, key, jose.ES256, nil, good), Scope{}, true, ""},
		{"valid, catalog", mint(t, key, jose.ES256, nil, good), Catalog, true, ""},
		{"wrong scope: other repository", mint(t, key, jose.ES256, nil, good), Pull("lab/other"), false, "insufficient_scope"},
		{"wrong scope: delete not granted", mint(t, key, jose.ES256, nil, good), Delete("lab/app"), false, "insufficient_scope"},
		{"wrong scope: pull-only token pushes", mint(t, key, jose.ES256, nil, claimsFor("reg", "auth", hour, Pull("lab/app"))), Push("lab/app"), false, "insufficient_scope"},
		{"expired", mint(t, key, jose.ES256, nil, claimsFor("reg", "auth", time.Now().Add(-2*time.Minute), Push("lab/app"))), Pull("lab/app"), false, "expired"},
		{"wrong audience", mint(t, key, jose.ES256, nil, claimsFor("another-registry", "auth", hour, Push("lab/app"))), Pull("lab/app"), false, "another-registry"},
		{"wrong issuer", mint(t, key, jose.ES256, nil, claimsFor("reg", "mallory", hour, Push("lab/app"))), Pull("lab/app"), false, "mallory"},
		{"no expiry", mint(t, key, jose.ES256, nil, noExp), Pull("lab/app"), false, "no expiry"},
		{"untrusted key", mint(t, other, jose.ES256, nil, good), Pull("lab/app"), false, "signature"},
		{"untrusted key with a kid", mint(t, other, jose.ES256, (&jose.SignerOptions{}).WithHeader("kid", "nope"), good), Pull("lab/app"), false, "does not trust"},
		{"symmetric algorithm", hsToken, Pull("lab/app"), false, "asymmetric"},
		{"alg none", "eyJhbGciOiJub25lIn0." + strings.Split(hsToken, ".")[1] + ".", Pull("lab/app"), false, "asymmetric"},
		{"garbage", "not-a-token", Pull("lab/app"), false, "asymmetric"},
		{"no token", "", Pull("lab/app"), false, ""},
	}
	for _, c := range cases {
		user, w, err := authorize(v, c.token, c.need)
		challenge := w.Header().Get("WWW-Authenticate")
		switch {
		case c.ok && (err != nil || user != "alice"):
			t.Errorf("%s: refused (%q): %v", c.what, user, err)
		case c.ok:
		case !errors.Is(err, ErrUnauthorized):
			t.Errorf("%s: accepted or wrong error: %v", c.what, err)
		case !strings.Contains(err.Error()+challenge, c.why):
			t.Errorf("%s: error %q / challenge %q do not say %q", c.what, err, challenge, c.why)
		case !strings.HasPrefix(challenge, `Bearer realm="https://auth.example/token",service="reg"`) ||
			!strings.Contains(challenge, `scope="`+c.need.String()+`"`):
			t.Errorf("%s: challenge %q", c.what, challenge)
		}
	}
}

// TestBearerKeySources trusts keys from a JWKS file, a JWKS URL (reloaded
// when an unknown kid appears) and a CA that signed the x5c chain.
func TestBearerKeySources(t *testing.T) {
	dir := t.TempDir()
	claims := claimsFor("reg", "auth", time.Now().Add(time.Hour), Pull("lab/app"))
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)

	// JWKS file, key named by its own kid.
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: rsaKey.Public(), KeyID: "key-2026", Algorithm: "RS256", Use: "sig"}}}
	data, _ := json.Marshal(set)
	jwks := filepath.Join(dir, "jwks.json")
	os.WriteFile(jwks, data, 0o600)
	v, err := NewToken(TokenConfig{Realm: "https://auth/token", Service: "reg", Issuer: "auth", Keys: jwks})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := authorize(v, mint(t, rsaKey, jose.RS256, (&jose.SignerOptions{}).WithHeader("kid", "key-2026"), claims), Pull("lab/app")); err != nil {
		t.Errorf("JWKS file: %v", err)
	}

	// JWKS URL: the server rotates to a new key; the registry reloads.
	newKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	var current atomic.Value
	current.Store(set)
	var fetches atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		json.NewEncoder(w).Encode(current.Load())
	}))
	defer ts.Close()
	v, err = NewToken(TokenConfig{Realm: "https://auth/token", Service: "reg", Issuer: "auth", Keys: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	current.Store(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: newKey.Public(), KeyID: "key-2027"}}})
	rotated := mint(t, newKey, jose.ES384, (&jose.SignerOptions{}).WithHeader("kid", "key-2027"), claims)
	if _, _, err := authorize(v, rotated, Pull("lab/app")); err == nil {
		t.Error("a key published after the last load was trusted before 30 s passed")
	}
	v.keys.loadedAt = time.Now().Add(-time.Minute)
	if _, _, err := authorize(v, rotated, Pull("lab/app")); err != nil || fetches.Load() != 2 {
		t.Errorf("after rotation: %v (%d fetches)", err, fetches.Load())
	}

	// x5c: a certificate chain ending in the configured CA.
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "token CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	ca, _ := x509.ParseCertificate(caDER)
	signKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafDER, _ := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "token signer"},
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}, ca, signKey.Public(), caKey)
	bundle := writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER)
	v, err = NewToken(TokenConfig{Realm: "https://auth/token", Service: "reg", Issuer: "auth", Keys: bundle})
	if err != nil {
		t.Fatal(err)
	}
	x5c := (&jose.SignerOptions{}).WithHeader("x5c", []string{b64(leafDER)})
	if _, _, err := authorize(v, mint(t, signKey, jose.ES256, x5c, claims), Pull("lab/app")); err != nil {
		t.Errorf("x5c chain to the trusted CA: %v", err)
	}
	selfKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	selfTmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "self"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	selfDER, _ := x509.CreateCertificate(rand.Reader, selfTmpl, selfTmpl, selfKey.Public(), selfKey)
	bad := (&jose.SignerOptions{}).WithHeader("x5c", []string{b64(selfDER)})
	if _, _, err := authorize(v, mint(t, selfKey, jose.ES256, bad, claims), Pull("lab/app")); err == nil || !strings.Contains(err.Error(), "x5c") {
		t.Errorf("a self-signed x5c chain: %v", err)
	}
	// An embedded jwk is only a hint: the key must be trusted anyway.
	embedded := &jose.SignerOptions{EmbedJWK: true}
	if _, _, err := authorize(v, mint(t, selfKey, jose.ES256, embedded, claims), Pull("lab/app")); err == nil {
		t.Error("a token carrying its own untrusted jwk was accepted")
	}
	if _, err := NewToken(TokenConfig{Service: "reg", Issuer: "auth", Keys: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing key file was accepted")
	}
}

func b64(der []byte) string { return base64.StdEncoding.EncodeToString(der) }
