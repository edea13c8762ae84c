package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// authServer runs the registry with an htpasswd file of alice (push lab/*,
// pull everything), bob (pull only) and carol (no rule: everything).
func authServer(t *testing.T, anonymousPull bool) (*httptest.Server, *registrytest.LogBuffer) {
	return authServerWith(t, func(cfg *config.Config, _ string) { cfg.AuthAnonPull = anonymousPull })
}

// authServerWith is authServer with more settings (dir is the test's
// directory for key files); it logs at debug level, events included.
func authServerWith(t *testing.T, more func(cfg *config.Config, dir string)) (*httptest.Server, *registrytest.LogBuffer) {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	for _, u := range []string{"alice", "bob", "carol"} {
		h, err := bcrypt.GenerateFromPassword([]byte(u+"-pw"), bcrypt.MinCost) // fast for tests
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, u+":"+string(h))
	}
	file := filepath.Join(dir, "htpasswd")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	cfg := config.Defaults()
	cfg.Root = filepath.Join(dir, "root")
	cfg.AuthHtpasswd = file
	cfg.AuthRules = "alice=push:lab/*,pull:*;bob=pull:*"
	more(&cfg, dir)
	r := registrytest.New(t, registrytest.Options{Config: func(c *config.Config) { *c = cfg }, LogLevel: "debug"})
	return r.Server, r.Logs
}

func push(ts *httptest.Server, repo string, a authn.Authenticator) error {
	ref, _ := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/"+repo, name.Insecure)
	img, _ := random.Image(1024, 1)
	return remote.Write(ref, img, remote.WithAuth(a), remote.WithRetryPredicate(func(error) bool { return false }))
}

func pull(ts *httptest.Server, repo string, a authn.Authenticator) error {
	ref, _ := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/"+repo, name.Insecure)
	_, err := remote.Image(ref, remote.WithAuth(a), remote.WithRetryPredicate(func(error) bool { return false }))
	return err
}

func basic(u string) authn.Authenticator { return &authn.Basic{Username: u, Password: u + "-pw"} }

func TestBasicAuthAndRules(t *testing.T) {
	t.Parallel()
	ts, logs := authServer(t, false)
	// The login flow: /v2/ challenges, then accepts good credentials.
	resp, err := http.Get(ts.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="layerlab"` || !strings.Contains(string(body), `"UNAUTHORIZED"`) {
		t.Fatalf("/v2/ without credentials: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	cases := []struct {
		what string
		err  error
		want int // 0: allowed
	}{
		{"carol pushes anywhere", push(ts, "other/x:1", basic("carol")), 0},
		{"alice pushes to lab/*", push(ts, "lab/app:1", basic("alice")), 0},
		{"alice pushes outside lab/", push(ts, "other/y:1", basic("alice")), 403},
		{"alice pulls anything", pull(ts, "other/x:1", basic("alice")), 0},
		{"bob pulls", pull(ts, "lab/app:1", basic("bob")), 0},
		{"bob pushes", push(ts, "lab/bob:1", basic("bob")), 403},
		{"wrong password", push(ts, "lab/x:1", &authn.Basic{Username: "alice", Password: "nope"}), 401},
		{"unknown user", pull(ts, "lab/app:1", &authn.Basic{Username: "mallory", Password: "x"}), 401},
		{"anonymous pull refused", pull(ts, "lab/app:1", authn.Anonymous), 401},
	}
	for _, c := range cases {
		switch {
		case c.want == 0 && c.err != nil:
			t.Errorf("%s: refused: %v", c.what, c.err)
		case c.want != 0 && (c.err == nil || !strings.Contains(c.err.Error(), http.StatusText(c.want)) && !strings.Contains(c.err.Error(), map[int]string{401: "UNAUTHORIZED", 403: "DENIED"}[c.want])):
			t.Errorf("%s: %v, want %d", c.what, c.err, c.want)
		}
	}
	// The storage report and the metrics name repositories: login needed.
	for _, path := range []string{"/api/du", "/metrics"} {
		for user, want := range map[string]int{"": 401, "bob": 200} {
			req, _ := http.NewRequest("GET", ts.URL+path, nil)
			if user != "" {
				req.SetBasicAuth(user, user+"-pw")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s as %q: %d, want %d", path, user, resp.StatusCode, want)
			}
		}
	}
	if strings.Contains(logs.String(), "-pw") || strings.Contains(logs.String(), "nope") {
		t.Fatal("a password reached the log")
	}
	if !strings.Contains(logs.String(), `"user":"alice"`) || !strings.Contains(logs.String(), `"error_code":"DENIED"`) {
		t.Error("the access log does not name the user or the refusal")
	}
}

func TestAnonymousPullAndFailedLoginLimit(t *testing.T) {
	ts, _ := authServer(t, true)
	if err := push(ts, "lab/app:1", basic("alice")); err != nil {
		t.Fatal(err)
	}
	if err := pull(ts, "lab/app:1", authn.Anonymous); err != nil {
		t.Fatalf("anonymous pull allowed, yet: %v", err)
	}
	if err := push(ts, "lab/anon:1", authn.Anonymous); err == nil {
		t.Fatal("anonymous push accepted")
	}
	status := 0
	for i := 0; i < 12; i++ { // bounded: more than the limit
		req, _ := http.NewRequest("GET", ts.URL+"/v2/", nil)
		req.SetBasicAuth("alice", "guess")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		status = resp.StatusCode
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("after 12 failed logins: %d, want 429", status)
	}
}

// selfSigned writes a CA-signed certificate for 127.0.0.1 and returns the
// CA pool and the file paths.
func selfSigned(t *testing.T, dir, cn string) (*x509.CertPool, string, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "layerlab test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile+".new", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile+".new", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	os.Rename(keyFile+".new", keyFile)
	os.Rename(certFile+".new", certFile)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, certFile, keyFile
}

func TestTLSWithReload(t *testing.T) {
	dir := t.TempDir()
	pool, certFile, keyFile := selfSigned(t, dir, "first")
	cfg := config.Defaults()
	cfg.Root = filepath.Join(dir, "root")
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	addr := serveReal(t, cfg)

	get := func(pool *x509.CertPool) (*http.Response, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
		return c.Get("https://" + addr + "/v2/")
	}
	resp, err := get(pool)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "first" || resp.ProtoMajor != 2 {
		t.Fatalf("over TLS: %d %s", resp.StatusCode, resp.Proto)
	}
	if _, err := get(x509.NewCertPool()); err == nil {
		t.Fatal("a client that does not trust the CA connected")
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MaxVersion: tls.VersionTLS11, RootCAs: pool}}}
	if _, err := old.Get("https://" + addr + "/v2/"); err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
	// A renewed certificate is served without a restart.
	time.Sleep(1100 * time.Millisecond)
	pool2, _, _ := selfSigned(t, dir, "second")
	time.Sleep(1100 * time.Millisecond)
	resp, err = get(pool2)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "second" {
		t.Fatalf("after renewal the server presents %q", cn)
	}
	// Plain HTTP to the TLS port gets the error learners meet, not a registry answer.
	plain, err := http.Get("http://" + addr + "/v2/")
	if err == nil {
		b, _ := io.ReadAll(plain.Body)
		plain.Body.Close()
		var v any
		if plain.StatusCode == 200 || json.Unmarshal(b, &v) == nil {
			t.Fatalf("plain HTTP to the TLS port answered %d %s", plain.StatusCode, b)
		}
	}
}
