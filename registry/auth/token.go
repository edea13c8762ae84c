package auth

import (
	"crypto"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
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
