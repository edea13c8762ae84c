package mirror_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/bcrypt"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// upstreamUser may pull from the upstreams the tests start.
const upstreamUser, upstreamPassword = "mirror", "mirror-pw"

// upstreamKind is how an upstream wants its clients authenticated.
type upstreamKind string

const (
	anonymous upstreamKind = "anonymous"
	basicAuth upstreamKind = "basic"
	bearer    upstreamKind = "bearer" // the Docker token flow, tokens issued by the upstream itself
)

// upstream is a second layerlab registry playing the upstream: requests
// to it are counted, and a test may cut blob responses off.
type upstream struct {
	*registrytest.Registry
	blobGets atomic.Int64 // GETs of blobs
	cutAfter atomic.Int64 // > 0: cut blob GETs off after this many bytes
	delay    atomic.Int64 // nanoseconds to wait before answering a blob GET
}

func newUpstream(t *testing.T, kind upstreamKind) *upstream {
	t.Helper()
	u := &upstream{}
	dir := t.TempDir()
	u.Registry = registrytest.New(t, registrytest.Options{
		Config: func(c *config.Config) {
			if kind == anonymous {
				return
			}
			h, _ := bcrypt.GenerateFromPassword([]byte(upstreamPassword), bcrypt.MinCost)
			c.AuthHtpasswd = filepath.Join(dir, "htpasswd")
			os.WriteFile(c.AuthHtpasswd, []byte(upstreamUser+":"+string(h)+"\n"), 0o600)
			if kind == bearer {
				c.TokenSignKey = signingKey(t, dir)
			}
		},
		Wrap: u.wrap,
	})
	return u
}

func signingKey(t *testing.T, dir string) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	file := filepath.Join(dir, "token.key")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func (u *upstream) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:") {
			u.blobGets.Add(1)
			time.Sleep(time.Duration(u.delay.Load()))
			if n := u.cutAfter.Load(); n > 0 {
				w = &cuttingWriter{ResponseWriter: w, left: n}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// cuttingWriter drops the connection once left bytes went out: the
// upstream killed mid-blob.
type cuttingWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cuttingWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(p))
	return c.ResponseWriter.Write(p)
}

// auth is how the tests push to the upstream.
func (u *upstream) auth(kind upstreamKind) remote.Option {
	if kind == anonymous {
		return remote.WithAuth(authn.Anonymous)
	}
	return remote.WithAuth(&authn.Basic{Username: upstreamUser, Password: upstreamPassword})
}

// mirrorOf starts a registry mirroring hub/ from the upstream at url with
// the upstream's credentials, logging at debug level (events included).
func mirrorOf(t *testing.T, url string, edit func(*config.Config)) *registrytest.Registry {
	t.Helper()
	creds := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(creds, []byte("# the upstreams' users\nhub/="+upstreamUser+":"+upstreamPassword+"\n"), 0o600)
	return registrytest.New(t, registrytest.Options{LogLevel: "debug", Config: func(c *config.Config) {
		c.Mirror.Specs = config.List("hub/=" + url)
		c.Mirror.Credentials = creds
		if edit != nil {
			edit(c)
		}
	}})
}

// blobLayer is n random bytes as a layer.
func blobLayer(t *testing.T, n int) v1.Layer {
	return static.NewLayer(registrytest.RandomBytes(t, n), types.OCIUncompressedLayer)
}

// events returns the event names logged, in order.
func events(lines []map[string]any) []string {
	var out []string
	for _, l := range lines {
		if e, ok := l["event"].(string); ok {
			out = append(out, e)
		}
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func ref(t *testing.T, host, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var noRetry = remote.WithRetryPredicate(func(error) bool { return false })
