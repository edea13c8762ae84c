// Package registrytest is the registry's test kit: a registry served by
// httptest with its store and logs at hand, a log buffer safe for
// concurrent handlers, and content builders. Every package's tests build
// their registries here.
package registrytest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/testbytes"
	"github.com/layerlab/layerlab/registry/server"
	"github.com/layerlab/layerlab/registry/storage"
)

// Options change the registry New starts; the zero value is the default
// configuration on a fresh root, logs discarded.
type Options struct {
	// Root is the storage root ("": a fresh temporary directory). A root
	// used before restarts the registry on what it holds.
	Root string
	// Config, when set, edits the configuration before the start.
	Config func(*config.Config)
	// LogLevel, when set, keeps the JSON logs at this level in Registry.Logs.
	LogLevel string
	// Store, when set, is served instead of a store opened on Root (a
	// store with injected faults).
	Store *storage.Store
	// Wrap, when set, puts a handler in front of the registry's (to count
	// or watch requests).
	Wrap func(http.Handler) http.Handler
}

// Registry is a registry under test.
type Registry struct {
	*httptest.Server
	Host   string // host:port, as image references name it
	Root   string
	Config config.Config
	Store  *storage.Store
	Logs   *LogBuffer // the JSON logs, when Options.LogLevel was set
	srv    *server.Server
}

// Drain waits for the registry's background work (server.Server.Drain).
func (r *Registry) Drain(ctx context.Context) error { return r.srv.Drain(ctx) }

// New starts a registry for the test; it stops when the test ends.
func New(t testing.TB, o Options) *Registry {
	t.Helper()
	cfg := Config(t, o)
	srv, logs := NewServer(t, cfg, o)
	h := srv.Handler()
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		ts.Close() // waits for the requests in flight
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Drain(ctx); err != nil {
			t.Errorf("the registry's background work did not end: %v", err)
		}
	})
	return &Registry{Server: ts, Host: strings.TrimPrefix(ts.URL, "http://"), Root: cfg.Root, Config: cfg,
		Store: srv.Store(), Logs: logs, srv: srv}
}

// Config is the configuration New would start with: the defaults, the
// root and the test's edits, validated.
func Config(t testing.TB, o Options) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.Root = o.Root
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	return cfg
}

// NewServer builds the server (not listening) for cfg, logging as o says
// (the buffer is nil when logs are discarded): for tests that serve it
// themselves (a real listener, a recorder).
func NewServer(t testing.TB, cfg config.Config, o Options) (*server.Server, *LogBuffer) {
	t.Helper()
	var out io.Writer = io.Discard
	level := "error"
	var buf *LogBuffer
	if o.LogLevel != "" {
		buf = &LogBuffer{}
		out, level = buf, o.LogLevel
	}
	log, err := accesslog.New(out, level, "json")
	if err != nil {
		t.Fatal(err)
	}
	var srv *server.Server
	if o.Store != nil {
		srv, err = server.NewWithStore(cfg, log, o.Store)
	} else {
		srv, err = server.New(cfg, log)
	}
	if err != nil {
		t.Fatal(err)
	}
	return srv, buf
}

// Ref parses a reference to s ("repo:tag" or "repo@digest") on this registry.
func (r *Registry) Ref(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.Host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// Repo names repository s on this registry.
func (r *Registry) Repo(t testing.TB, s string) name.Repository {
	t.Helper()
	repo, err := name.NewRepository(r.Host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// RandomBytes returns n random bytes: content no other test shares.
var RandomBytes = testbytes.Random

// TempFiles lists the files in the store's tmp directory under root:
// after a failed write there must be none.
func TempFiles(t testing.TB, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// WantError sends method url with body and checks the answer is status
// with one OCI error of the given code.
func WantError(t testing.TB, method, url string, body io.Reader, status int, code string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Errors []struct{ Code string } }
	json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if resp.StatusCode != status || len(env.Errors) != 1 || env.Errors[0].Code != code {
		t.Errorf("%s %s: %d %+v; want %d %s", method, url, resp.StatusCode, env, status, code)
	}
}
