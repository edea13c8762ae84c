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
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

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
