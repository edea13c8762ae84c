package mirror

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/storage"
)

// ErrUpstream is an upstream that could not answer: unreachable, failing
// (5xx), or refusing the mirror's credentials. Errors wrapping it say which.
var ErrUpstream = errors.New("upstream unavailable")

// upstream is one registry the mirror fetches from, with its HTTP client:
// go-containerregistry's transport does the ping, Basic authentication and
// the Docker token flow (anonymous tokens too), one transport per upstream
// repository (tokens are scoped to it), kept and reused.
type upstream struct {
	config.Upstream
	host string // host[:port]
	auth authn.Authenticator
	base http.RoundTripper

	mu         sync.Mutex
	transports map[string]http.RoundTripper // by upstream repository
}

// maxTransports bounds the transports kept (one per upstream repository).
const maxTransports = 1024

func newUpstream(c config.Upstream, creds map[string]authn.AuthConfig) (*upstream, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{InsecureSkipVerify: c.Insecure} //nolint:gosec // asked for (test setups)
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("mirror %q: CA bundle: %w", c.Prefix, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mirror %q: CA bundle %s holds no certificate", c.Prefix, c.CA)
		}
		tlsConf.RootCAs = pool
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}
	up := &upstream{Upstream: c, host: u.Host, auth: authn.Anonymous, base: base, transports: map[string]http.RoundTripper{}}
	if a, ok := creds[c.Prefix]; ok {
		up.auth = authn.FromConfig(a)
	}
	return up, nil
}

// repository names a repository of the upstream for go-containerregistry.
func (u *upstream) repository(repo string) (name.Repository, error) {
	var opts []name.Option
	if strings.HasPrefix(u.URL, "http://") {
		opts = append(opts, name.Insecure)
	}
	return name.NewRepository(u.host+"/"+repo, opts...)
}

// transport returns the authenticated transport for pulls of repo.
func (u *upstream) transport(ctx context.Context, repo string) (http.RoundTripper, name.Repository, error) {
	r, err := u.repository(repo)
	if err != nil {
		return nil, r, fmt.Errorf("upstream repository %q: %w", repo, storage.ErrNameInvalid)
	}
	u.mu.Lock()
	t := u.transports[repo]
	u.mu.Unlock()
	if t != nil {
		return t, r, nil
	}
	t, err = transport.NewWithContext(ctx, r.Registry, u.auth, u.base, []string{r.Scope(transport.PullScope)})
	if err != nil {
		return nil, r, u.failed(err)
	}
	u.mu.Lock()
	if len(u.transports) >= maxTransports {
		clear(u.transports)
	}
	u.transports[repo] = t
	u.mu.Unlock()
	return t, r, nil
}

// failed classifies an upstream error: a 404 is the reference unknown
// upstream (notFound), anything else the upstream unavailable.
func (u *upstream) failed(err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: %w", u.URL, errNotFoundUpstream)
	}
	return fmt.Errorf("%w: %s: %v", ErrUpstream, u.URL, err)
}

var errNotFoundUpstream = errors.New("not found upstream")

func (u *upstream) options(ctx context.Context, t http.RoundTripper) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(t)}
}

// headManifest asks the upstream which manifest a reference names.
func (u *upstream) headManifest(ctx context.Context, repo, ref string) (digest.Digest, error) {
	t, r, err := u.transport(ctx, repo)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(reference(r, ref), u.options(ctx, t)...)
	if err != nil {
		return "", u.failed(err)
	}
	return digest.Digest(desc.Digest.String()), nil
}

// getManifest fetches a manifest (go-containerregistry checks its digest
// when asked by digest).
func (u *upstream) getManifest(ctx context.Context, repo, ref string) (body []byte, mediaType string, d digest.Digest, err error) {
	t, r, err := u.transport(ctx, repo)
	if err != nil {
		return nil, "", "", err
	}
	desc, err := remote.Get(reference(r, ref), u.options(ctx, t)...)
	if err != nil {
		return nil, "", "", u.failed(err)
	}
	return desc.Manifest, string(desc.MediaType), digest.Digest(desc.Digest.String()), nil
}

func reference(r name.Repository, ref string) name.Reference {
	if strings.Contains(ref, ":") {
		return r.Digest(ref)
	}
	return r.Tag(ref)
}

// openBlob starts a GET of a blob: the response body and its length (-1:
// unknown). method HEAD only asks the length.
func (u *upstream) openBlob(ctx context.Context, method, repo string, d digest.Digest) (io.ReadCloser, int64, error) {
	t, r, err := u.transport(ctx, repo)
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u.URL+"/v2/"+r.RepositoryStr()+"/blobs/"+d.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return nil, 0, u.failed(err)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		return nil, 0, u.failed(err)
	}
	return resp.Body, resp.ContentLength, nil
}

// referrers fetches the upstream's referrers index of a manifest (the
// referrers API, or the tag schema of registries without it).
func (u *upstream) referrers(ctx context.Context, repo string, d digest.Digest, artifactType string) ([]byte, error) {
	t, r, err := u.transport(ctx, repo)
	if err != nil {
		return nil, err
	}
	opts := u.options(ctx, t)
	if artifactType != "" {
		opts = append(opts, remote.WithFilter("artifactType", artifactType))
	}
	idx, err := remote.Referrers(r.Digest(d.String()), opts...)
	if err != nil {
		return nil, u.failed(err)
	}
	return idx.RawManifest()
}

// tags lists the upstream repository's tags (every page).
func (u *upstream) tags(ctx context.Context, repo string) ([]string, error) {
	t, r, err := u.transport(ctx, repo)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(r, u.options(ctx, t)...)
	if err != nil {
		return nil, u.failed(err)
	}
	return tags, nil
}
