package auth

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenConfig is what the registry's configuration says about bearer
// tokens (the Docker token protocol): where clients get a token, the
// service name the token must be issued for, the issuer it must come from,
// and the keys its signature is checked against.
type TokenConfig struct {
	Realm   string // token server URL sent in the challenge; "" with a local issuer: this registry's /auth/token
	Service string // the "aud" a token must carry, and the service clients name when they ask for one
	Issuer  string // the "iss" a token must carry
	// Keys is a PEM file (certificates and/or public keys), a JWKS file,
	// or an http(s) URL serving a JWKS. Keys are looked up by the token's
	// "kid" (the JWKS kid, the RFC 7638 thumbprint, or the libtrust key ID
	// docker's auth servers use) or its "x5c" chain, checked against the
	// certificates given here.
	Keys string
	// Local, when set, is the public half of this registry's own token
	// issuer: trusted in addition to Keys.
	Local crypto.PublicKey
	// Client fetches a JWKS URL (nil: a client with a 10 s timeout).
	Client *http.Client
}

// Token authorizes requests that carry a JWT bearer token.
type Token struct {
	cfg  TokenConfig
	keys *keySource
	now  func() time.Time
}

// signatureAlgorithms are the asymmetric ones: a token signed with a
// shared secret (HS256) or with none is refused before anything else.
var signatureAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// leeway is the clock difference tolerated between token server and registry.
const leeway = time.Minute

// NewToken loads the trusted keys.
func NewToken(c TokenConfig) (*Token, error) {
	if c.Service == "" || c.Issuer == "" {
		return nil, errors.New("bearer tokens need a service and an issuer")
	}
	if c.Keys == "" && c.Local == nil {
		return nil, errors.New("bearer tokens need the keys that sign them (a PEM or JWKS file, or a JWKS URL)")
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 10 * time.Second}
	}
	ks := &keySource{location: c.Keys, client: c.Client, local: c.Local}
	if err := ks.load(); err != nil {
		return nil, err
	}
	return &Token{cfg: c, keys: ks, now: time.Now}, nil
}

// tokenClaims are a token's claims: the registered ones and the Docker
// token protocol's "access", what the token grants.
type tokenClaims struct {
	jwt.Claims
	Access []Scope `json:"access"`
}

// Authorize checks the bearer token against the scope the request needs.
// A missing, invalid or expired token, or one that does not grant the
// scope, gets 401 with a Bearer challenge naming the scope, so clients ask
// the token server for a better one.
func (t *Token) Authorize(w http.ResponseWriter, r *http.Request, need Scope) (string, error) {
	raw, ok := bearer(r)
	if !ok {
		if _, _, basic := r.BasicAuth(); basic {
			t.challenge(w, r, need, "invalid_request")
			return "", fmt.Errorf("Basic credentials sent to a registry that takes bearer tokens from %s: %w", t.realm(r), ErrUnauthorized)
		}
		t.challenge(w, r, need, "")
		return "", ErrUnauthorized
	}
	claims, err := t.verify(raw)
	if err != nil {
		t.challenge(w, r, need, "invalid_token")
		return "", err
	}
	if need.Type != "" && !grants(claims.Access, need) {
		t.challenge(w, r, need, "insufficient_scope")
		who := "the token of " + strconv.Quote(claims.Subject)
		if claims.Subject == "" {
			who = "an anonymous token"
		}
		return claims.Subject, fmt.Errorf("%s does not grant %s: %w", who, need, ErrUnauthorized)
	}
	return claims.Subject, nil
}

// bearer returns the token of an "Authorization: Bearer …" header; the
// scheme is case-insensitive (RFC 7235), as for Basic.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// RefusedToken is a token that failed a check: Reason is what the client
// is told, Cause the library's own words, for the log only.
type RefusedToken struct {
	Reason string
	Cause  error
}

func (e *RefusedToken) Error() string { return "bearer token refused: " + e.Reason }

// Unwrap makes a refused token an ErrUnauthorized.
func (e *RefusedToken) Unwrap() error { return ErrUnauthorized }

// LogDetail is the reason with its cause, for the access log.
func (e *RefusedToken) LogDetail() string {
	if e.Cause == nil {
		return e.Error()
	}
	return e.Error() + " (" + e.Cause.Error() + ")"
}

func refused(cause error, format string, args ...any) *RefusedToken {
	return &RefusedToken{Reason: fmt.Sprintf(format, args...), Cause: cause}
}

// verify checks the token's signature, issuer, audience and times, and
// returns its claims. Its errors are *RefusedToken.
func (t *Token) verify(raw string) (*tokenClaims, error) {
	tok, err := jwt.ParseSigned(raw, signatureAlgorithms)
	if err != nil {
		return nil, refused(err, "not a signed JWT with an asymmetric algorithm")
	}
	key, err := t.keys.find(tok.Headers[0])
	if err != nil {
		return nil, refused(nil, "%v", err)
	}
	c := &tokenClaims{}
	if err := tok.Claims(key, c); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, refused(err, "token signature is invalid")
		}
		return nil, refused(err, "token claims are unreadable")
	}
	if c.Expiry == nil {
		return nil, refused(nil, `the token has no expiry ("exp")`)
	}
	err = c.ValidateWithLeeway(jwt.Expected{
		Issuer:      t.cfg.Issuer,
		AnyAudience: jwt.Audience{t.cfg.Service},
		Time:        t.now(),
	}, leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return nil, refused(nil, "the token expired at %s", c.Expiry.Time().UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, refused(nil, "the token is for %.200q, this registry is %q", strings.Join(c.Audience, " "), t.cfg.Service)
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return nil, refused(nil, "the token comes from %.200q, not the trusted issuer %q", c.Issuer, t.cfg.Issuer)
	case err != nil:
		return nil, refused(err, "the token is not valid now (nbf, iat)")
	}
	return c, nil
}

// realm is where clients get tokens: configured, or this registry's own
// issuer at /auth/token on the address the client used — when that
// address is one the registry can vouch for (see issuerHost).
func (t *Token) realm(r *http.Request) string {
	if t.cfg.Realm != "" {
		return t.cfg.Realm
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + issuerHost(r) + TokenPath
}

// issuerHost is the host[:port] a challenge sends clients to for the
// local issuer. The Host header is taken only when it names a loopback
// address or the address the connection arrived on; any other Host
// (a name, or an address a client or a proxy made up) would send
// credentials wherever the request said, so the connection's own address
// is used instead. A registry reached by a host name configures its realm.
func issuerHost(r *http.Request) string {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	name, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		name, port = r.Host, ""
	}
	if _, err := strconv.ParseUint(port, 10, 16); err == nil || port == "" {
		ip := net.ParseIP(strings.Trim(name, "[]"))
		if name == "localhost" || ip != nil && (ip.IsLoopback() || local != nil && ip.Equal(local.IP)) {
			return r.Host
		}
	}
	if local != nil {
		return local.String()
	}
	return "localhost"
}

func (t *Token) challenge(w http.ResponseWriter, r *http.Request, need Scope, problem string) {
	c := fmt.Sprintf("Bearer realm=%q,service=%q", t.realm(r), t.cfg.Service)
	if s := need.String(); s != "" {
		c += fmt.Sprintf(",scope=%q", s)
	}
	if problem != "" {
		c += fmt.Sprintf(",error=%q", problem)
	}
	w.Header().Set("WWW-Authenticate", c)
}

// keySource holds the trusted keys and, for x5c chains, the trusted
// certificates. A token naming a key it does not know makes it reload
// (a JWKS URL or file after key rotation), at most every 30 s.
type keySource struct {
	location string
	client   *http.Client
	local    crypto.PublicKey

	mu       sync.Mutex
	byID     map[string]crypto.PublicKey
	only     crypto.PublicKey // the trusted key when there is just one
	roots    *x509.CertPool
	loadedAt time.Time
}

const reloadEvery = 30 * time.Second

func (ks *keySource) load() error {
	byID := map[string]crypto.PublicKey{}
	distinct := map[string]crypto.PublicKey{} // by thumbprint
	roots := x509.NewCertPool()
	add := func(kid string, k crypto.PublicKey) {
		distinct[KeyID(k)] = k
		for _, id := range keyIDs(k) {
			byID[id] = k
		}
		if kid != "" {
			byID[kid] = k
		}
	}
	if ks.local != nil {
		add("", ks.local)
	}
	if ks.location != "" {
		data, err := ks.read()
		if err != nil {
			return fmt.Errorf("token keys: %w", err)
		}
		if err := parseKeys(data, roots, add); err != nil {
			return fmt.Errorf("token keys %s: %w", ks.location, err)
		}
	}
	if len(distinct) == 0 {
		return fmt.Errorf("token keys %s: no public key or certificate found", ks.location)
	}
	var only crypto.PublicKey
	if len(distinct) == 1 {
		for _, k := range distinct {
			only = k
		}
	}
	ks.mu.Lock()
	ks.byID, ks.only, ks.roots, ks.loadedAt = byID, only, roots, time.Now()
	ks.mu.Unlock()
	return nil
}

func (ks *keySource) read() ([]byte, error) {
	if !strings.HasPrefix(ks.location, "https://") && !strings.HasPrefix(ks.location, "http://") {
		return os.ReadFile(ks.location)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.location, nil)
	if err != nil {
		return nil, err
	}
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", ks.location, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// parseKeys reads a JWKS (JSON) or PEM blocks: CERTIFICATE (trusted for
// x5c chains, and its key trusted directly) and PUBLIC KEY.
func parseKeys(data []byte, roots *x509.CertPool, add func(string, crypto.PublicKey)) error {
	if trimmed := strings.TrimSpace(string(data)); strings.HasPrefix(trimmed, "{") {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(data, &set); err != nil {
			return fmt.Errorf("JWKS: %w", err)
		}
		for _, k := range set.Keys {
			if k.IsPublic() && k.Valid() {
				add(k.KeyID, k.Key)
			}
		}
		return nil
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil
		}
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return err
			}
			roots.AddCert(cert)
			add("", cert.PublicKey)
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return err
			}
			add("", k)
		}
	}
}

// find picks the key a token's header points at: an x5c chain that ends
// in a trusted certificate, a known kid, an embedded jwk equal to a
// trusted key, or, with no hint at all, the only trusted key.
func (ks *keySource) find(h jose.Header) (crypto.PublicKey, error) {
	for attempt := 0; attempt < 2; attempt++ {
		ks.mu.Lock()
		byID, only, roots, loadedAt := ks.byID, ks.only, ks.roots, ks.loadedAt
		ks.mu.Unlock()
		if chains, err := h.Certificates(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
			return chains[0][0].PublicKey, nil
		} else if !errors.Is(err, jose.ErrMissingX5cHeader) {
			return nil, fmt.Errorf("the token's x5c chain is not trusted: %v", err)
		}
		switch {
		case h.KeyID != "":
			if k, ok := byID[h.KeyID]; ok {
				return k, nil
			}
		case h.JSONWebKey != nil:
			for _, id := range keyIDs(h.JSONWebKey.Key) {
				if k, ok := byID[id]; ok {
					return k, nil
				}
			}
		case only != nil:
			return only, nil
		default:
			return nil, errors.New("the token names no key (kid, x5c or jwk) and more than one is trusted")
		}
		if attempt > 0 || ks.location == "" || time.Since(loadedAt) < reloadEvery {
			break
		}
		if err := ks.load(); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("the token is signed by a key this registry does not trust (kid %q)", h.KeyID)
}

// keyIDs are the names a public key goes by: its RFC 7638 thumbprint and
// its libtrust key ID ("ABCD:EFGH:…", what docker's token servers put in
// "kid").
func keyIDs(k crypto.PublicKey) []string {
	var ids []string
	jwk := jose.JSONWebKey{Key: k}
	if tp, err := jwk.Thumbprint(crypto.SHA256); err == nil {
		ids = append(ids, base64.RawURLEncoding.EncodeToString(tp))
	}
	if der, err := x509.MarshalPKIXPublicKey(k); err == nil {
		ids = append(ids, LibtrustKeyID(der))
	}
	return ids
}

// KeyID is the name this registry gives a public key in a token's "kid":
// its RFC 7638 thumbprint.
func KeyID(k crypto.PublicKey) string { return keyIDs(k)[0] }

// LibtrustKeyID is the key ID docker's libtrust gives a public key: the
// first 240 bits of the SHA-256 of its DER form, base32, in groups of four.
func LibtrustKeyID(der []byte) string {
	sum := sha256.Sum256(der)
	s := strings.TrimRight(base32.StdEncoding.EncodeToString(sum[:30]), "=")
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}
