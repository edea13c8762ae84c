package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenPath is where this registry's own token issuer answers.
const TokenPath = "/auth/token"

// Issuer is a small token server for the Docker token protocol: it checks
// the user's password (the htpasswd file), grants the part of each
// requested scope the access rules allow, and signs a short-lived JWT.
// It lets a learner watch the whole bearer flow on one registry; a team
// with an auth server of its own points REGISTRY_AUTH_TOKEN_REALM there.
type Issuer struct {
	basic   *Basic
	signer  jose.Signer
	public  crypto.PublicKey
	issuer  string
	service string
	ttl     time.Duration
	now     func() time.Time
	// OnIssue, when set, hears of every token issued (for the log).
	OnIssue func(r *http.Request, user string, granted []Scope)
}

// NewIssuer signs with the private key in keyFile (PEM: EC, RSA, Ed25519
// or PKCS#8).
func NewIssuer(basic *Basic, keyFile, issuer, service string, ttl time.Duration) (*Issuer, error) {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("token signing key: %w", err)
	}
	key, err := parsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("token signing key %s: %w", keyFile, err)
	}
	return newIssuer(basic, key, issuer, service, ttl)
}

func newIssuer(basic *Basic, key crypto.Signer, issuer, service string, ttl time.Duration) (*Issuer, error) {
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		alg = map[int]jose.SignatureAlgorithm{256: jose.ES256, 384: jose.ES384, 521: jose.ES512}[k.Curve.Params().BitSize]
	case *rsa.PrivateKey:
		alg = jose.RS256
	case ed25519.PrivateKey:
		alg = jose.EdDSA
	}
	if alg == "" {
		return nil, errors.New("token signing key: want an EC (P-256/384/521), RSA or Ed25519 private key")
	}
	kid := KeyID(key.Public())
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return nil, err
	}
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &Issuer{basic: basic, signer: signer, public: key.Public(), issuer: issuer, service: service, ttl: ttl, now: time.Now}, nil
}

func parsePrivateKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key found")
		}
		var k any
		var err error
		switch block.Type {
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, errors.New("the private key cannot sign")
	}
}

// Public is the key tokens are signed with, for the registry to trust.
func (i *Issuer) Public() crypto.PublicKey { return i.public }

// What one token request may ask for. Clients ask for one or two scopes
// at a time (pull and push on a repository, pull on a mount's source);
// a repository name is at most 255 characters.
const (
	maxTokenRequest = 64 << 10 // bytes of a POSTed form
	maxScopes       = 16
	maxScopeLength  = 512
	maxTokenSize    = 16 << 10
)

// tokenResponse is what docker, containerd and go-containerregistry read.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// ServeHTTP answers GET with Basic credentials (or none: anonymous) and
// POST with an OAuth2 password grant (what `docker login` tries first).
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var user, pass, service string
	var given bool
	var scopes []string
	switch r.Method {
	case http.MethodGet:
		user, pass, given = r.BasicAuth()
		q := r.URL.Query()
		service, scopes = q.Get("service"), q["scope"]
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				oauthError(w, http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("the form is larger than %d bytes", maxTokenRequest))
				return
			}
			oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		if gt := r.PostForm.Get("grant_type"); gt != "password" {
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only grant_type=password is supported")
			return
		}
		user, pass, given = r.PostForm.Get("username"), r.PostForm.Get("password"), true
		service, scopes = r.PostForm.Get("service"), r.PostForm["scope"]
	default:
		w.Header().Set("Allow", "GET, POST")
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "GET or POST")
		return
	}
	if service != "" && service != i.service {
		oauthError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("this issuer serves %q, not %.100q", i.service, service))
		return
	}
	var asked []string
	for _, list := range scopes {
		asked = append(asked, strings.Fields(list)...) // OAuth2 style: several, space-separated
		if len(asked) > maxScopes {
			oauthError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("at most %d scopes in one request", maxScopes))
			return
		}
	}
	for _, one := range asked {
		if len(one) > maxScopeLength {
			oauthError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("a scope is at most %d bytes long", maxScopeLength))
			return
		}
	}
	if given {
		if err := i.basic.login(r, user, pass); err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, ErrTooMany) {
				status = http.StatusTooManyRequests
			}
			i.basic.challenge(w)
			oauthError(w, status, "invalid_grant", err.Error())
			return
		}
	}
	var granted []Scope
	for _, one := range asked {
		if s, ok := ParseScope(one); ok {
			if g, ok := i.grant(user, s); ok {
				granted = append(granted, g)
			}
		}
	}
	token, err := i.sign(user, granted)
	if err == nil && len(token) > maxTokenSize {
		err = fmt.Errorf("the token would be %d bytes, more than %d", len(token), maxTokenSize)
	}
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	if i.OnIssue != nil {
		i.OnIssue(r, user, granted)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(tokenResponse{Token: token, AccessToken: token,
		ExpiresIn: int(i.ttl.Seconds()), IssuedAt: i.now().UTC().Format(time.RFC3339)})
}

// grant is the part of a requested scope the user ("" for anonymous) may
// have, action by action, by the rules Basic authorization follows.
func (i *Issuer) grant(user string, want Scope) (Scope, bool) {
	g := Scope{Type: want.Type, Name: want.Name}
	if want.Type == Catalog.Type && want.Name == Catalog.Name {
		if i.basic.permits(user, Catalog) {
			g.Actions = slices.Clone(Catalog.Actions)
		}
		return g, len(g.Actions) > 0
	}
	for _, a := range want.Actions {
		known := a == ActionPull || a == ActionPush || a == ActionDelete
		if known && want.Type == "repository" && !slices.Contains(g.Actions, a) &&
			i.basic.permits(user, Scope{want.Type, want.Name, []string{a}}) {
			g.Actions = append(g.Actions, a)
		}
	}
	return g, len(g.Actions) > 0
}

func (i *Issuer) sign(user string, access []Scope) (string, error) {
	id := make([]byte, 16)
	rand.Read(id)
	now := i.now()
	if access == nil {
		access = []Scope{}
	}
	return jwt.Signed(i.signer).Claims(tokenClaims{
		Claims: jwt.Claims{
			Issuer:    i.issuer,
			Subject:   user,
			Audience:  jwt.Audience{i.service},
			Expiry:    jwt.NewNumericDate(now.Add(i.ttl)),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Second)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(id),
		},
		Access: access,
	}).Serialize()
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
