// Package server wires the registry together: store, /v2 API, health,
// middleware, background cleaning, and the HTTP server's lifetime.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/api"
	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/internal/priority"
	"github.com/layerlab/layerlab/registry/metrics"
	"github.com/layerlab/layerlab/registry/mirror"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/ui"
)

// Server is a configured registry, ready to serve.
type Server struct {
	cfg     config.Config
	log     *logrus.Logger
	store   *storage.Store
	metrics *metrics.Metrics
	http    *http.Server
	debug   *http.Server
	auth    api.Authorizer
	basic   *auth.Basic
	issuer  *auth.Issuer
	certs   *certReloader
	index   *index.Cache        // derived data for the /api/ queries
	du      *storage.UsageCache // the storage report behind /api/du
	live    *accesslog.Live
	mirror  *mirror.Mirror // nil: nothing mirrored
	proxies []netip.Prefix // load balancers whose X-Forwarded-For is believed: proxy.go
}

// New opens the store and builds the handler chain.
func New(cfg config.Config, log *logrus.Logger) (*Server, error) {
	store, err := OpenStore(cfg)
	if err != nil {
		return nil, err
	}
	return NewWithStore(cfg, log, store)
}

// NewWithStore serves a store the caller opened (tests open it with
// storage options of their own, such as injected write faults).
func NewWithStore(cfg config.Config, log *logrus.Logger, store *storage.Store) (*Server, error) {
	s := &Server{cfg: cfg, log: log, store: store, metrics: metrics.New(store), index: index.NewCache(store), du: storage.NewUsageCache(store),
		live: accesslog.NewLive(ui.MaxLiveSubscribers)}
	s.metrics.NameInstance(cfg.Instance)
	var err error
	if s.proxies, err = parseProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	if err := s.setupAuth(); err != nil {
		return nil, err
	}
	if err := s.setupMirror(); err != nil {
		return nil, err
	}
	if cfg.TLSCert != "" {
		c, err := newCertReloader(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, err
		}
		s.certs = c
	}
	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: cfg.HeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	if s.certs != nil {
		s.http.TLSConfig = s.certs.tlsConfig()
	}
	return s, nil
}

// Drain waits for the work requests left running behind them (blobs the
// mirror is still fetching into the store) to end, or for ctx to. Serve
// drains on its way out; a caller serving Handler itself drains after its
// listener closed.
func (s *Server) Drain(ctx context.Context) error {
	if s.mirror == nil {
		return nil
	}
	return s.mirror.Wait(ctx)
}

// Store is the server's store.
func (s *Server) Store() *storage.Store { return s.store }

// Handler is the whole HTTP surface: /v2, health, and the middleware.
func (s *Server) Handler() http.Handler {
	router := mux.NewRouter()
	router.SkipClean(true) // names are validated, never cleaned into something else
	api.Register(router, s.store, api.Options{
		DeleteEnabled:       s.cfg.DeleteEnabled,
		ReadOnly:            s.cfg.ReadOnly,
		ChunkMinLength:      s.cfg.ChunkMinLength,
		Auth:                s.auth,
		MaxUploadsPerClient: int(s.cfg.MaxUploads),
		Pullable:            s.pullable,
		RedirectBlobs:       s.cfg.Storage.Driver == "s3" && s.cfg.Storage.S3Redirect,
		Mirror:              s.mirror,
	})
	router.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		quiet(r, "healthz")
		w.Write([]byte("ok\n"))
	}).Methods("GET", "HEAD")
	if s.issuer != nil {
		router.HandleFunc(auth.TokenPath, s.issueToken).Methods("GET", "POST")
	}
	router.HandleFunc("/readyz", s.ready).Methods("GET", "HEAD")
	// What the store holds, by repository, and the totals: for whoever may
	// list the catalog.
	router.Handle("/api/du", api.Guard(s.auth, auth.Catalog, http.HandlerFunc(s.diskUsage))).Methods("GET")
	api.RegisterQuery(router, s.index, s.auth, s.pullable, s.mayDelete) // images, families, blob users: from the index
	if s.cfg.UI {
		s.routeUI(router)
	}
	if s.cfg.DebugAddr == "" {
		router.Handle("/metrics", api.Guard(s.auth, auth.Catalog, s.metrics.Handler())).Methods("GET")
	}
	var h http.Handler = router
	h = recoverPanics(s.log, h)
	if s.cfg.UI {
		h = s.live.Middleware(h)
	}
	h = api.Transfers(s.cfg.MinRate, s.cfg.RateWindow)(h)
	h = accesslog.InstanceMiddleware(s.log, s.cfg.Instance, s.metrics.Observe)(h)
	if s.cfg.CORSOrigins != "" {
		h = cors(strings.Split(s.cfg.CORSOrigins, ","), h)
	}
	return forwardedFor(s.proxies, api.CommonHeaders(h))
}

// authMode names the authentication in force, for the start-up line.
func (s *Server) authMode() string {
	switch s.auth.(type) {
	case *auth.Basic:
		return "basic"
	case *auth.Token:
		if s.issuer != nil && s.cfg.TokenRealm == "" {
			return "bearer (tokens issued at " + auth.TokenPath + " on the loopback or local address clients connect to; set --auth-token-realm when clients use a host name)"
		}
		if s.issuer != nil {
			return "bearer (tokens issued here, realm " + s.cfg.TokenRealm + ")"
		}
		return "bearer (tokens from " + s.cfg.TokenRealm + ")"
	}
	return "off"
}

// setupAuth picks the authorizer: none, Basic from the htpasswd file, or
// bearer tokens (from an auth server of its own, or issued here at
// /auth/token to the htpasswd users).
func (s *Server) setupAuth() error {
	cfg := s.cfg
	var basic *auth.Basic
	if cfg.AuthHtpasswd != "" {
		b, err := auth.New(auth.Config{HtpasswdFile: cfg.AuthHtpasswd, Realm: cfg.AuthRealm,
			AnonymousPull: cfg.AuthAnonPull, Rules: cfg.AuthRules})
		if err != nil {
			return err
		}
		basic, s.auth, s.basic = b, b, b
	}
	if cfg.TokenRealm == "" && cfg.TokenKeys == "" && cfg.TokenSignKey == "" {
		return nil
	}
	tc := auth.TokenConfig{Realm: cfg.TokenRealm, Service: cfg.TokenService, Issuer: cfg.TokenIssuer, Keys: cfg.TokenKeys}
	if cfg.TokenSignKey != "" {
		iss, err := auth.NewIssuer(basic, cfg.TokenSignKey, cfg.TokenIssuer, cfg.TokenService, cfg.TokenTTL)
		if err != nil {
			return err
		}
		iss.OnIssue = func(r *http.Request, user string, granted []auth.Scope) {
			var scopes []string
			for _, g := range granted {
				scopes = append(scopes, g.String())
			}
			who := user
			if who == "" {
				who = "an anonymous client"
			}
			accesslog.Event(r.Context(), "token_issued", "token issued to "+who+" — it grants exactly the scopes listed; the client sends it as \"Authorization: Bearer …\"",
				logrus.Fields{"granted": strings.Join(scopes, " "), "expires_in": cfg.TokenTTL.String()})
		}
		s.issuer, tc.Local = iss, iss.Public()
	}
	t, err := auth.NewToken(tc)
	if err != nil {
		return err
	}
	s.auth = t
	return nil
}

// issueToken serves the token issuer; the access line names the user who
// asked, whether the token was issued or refused.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	rec := accesslog.From(r.Context())
	rec.Route = "auth.token"
	s.issuer.ServeHTTP(w, r)
	if user, _, ok := r.BasicAuth(); ok {
		rec.User = user
	} else {
		rec.User = r.PostFormValue("username")
	}
}

// ready answers 200 when the storage root is writable (on S3: the bucket
// answers), 503 otherwise.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	quiet(r, "readyz")
	if err := s.storageReady(r.Context()); err != nil {
		s.log.WithError(err).Warn("storage not ready")
		http.Error(w, "storage not writable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// quiet names a health route and keeps its successes out of the info log:
// probes every few seconds would drown what a learner wants to read.
func quiet(r *http.Request, route string) {
	rec := accesslog.From(r.Context())
	rec.Route, rec.Quiet = route, true
}

func checkWritable(root string) error {
	f, err := os.CreateTemp(filepath.Join(root, "tmp"), "ready-")
	if err != nil {
		return err
	}
	name := f.Name()
	_, err = f.Write([]byte("ok"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	os.Remove(name)
	return err
}

func recoverPanics(log *logrus.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.WithField("panic", fmt.Sprint(v)).WithField("stack", string(debug.Stack())).Error("handler panicked")
				accesslog.From(r.Context()).ErrCode = "UNKNOWN"
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"errors":[{"code":"UNKNOWN","message":"internal error"}]}`))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Run serves until ctx is done, then shuts down gracefully: in-flight
// requests finish (up to the configured grace), new ones are refused.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	f := logrus.Fields{"instance": s.cfg.Instance, "addr": ln.Addr().String(), "root": s.cfg.Root, "storage": s.cfg.Storage.Driver, "tls": s.certs != nil,
		"auth": s.authMode(), "delete_enabled": s.cfg.DeleteEnabled, "read_only": s.cfg.ReadOnly}
	if s.basic != nil {
		f["access"] = s.basic.Describe()
	}
	if s.mirror != nil {
		f["mirrors"] = s.mirror.Describe()
	}
	s.log.WithFields(f).Info("registry listening")
	bg, stopBg := context.WithCancel(ctx)
	defer stopBg()
	go s.cleanUploads(bg)
	s.warmCatalog(bg)
	if s.cfg.GCInterval > 0 {
		go s.collectGarbage(bg)
	}
	if s.mirror != nil && s.cfg.Mirror.MaxAge > 0 {
		go s.evictMirrored(bg)
	}
	if s.cfg.DebugAddr != "" {
		if err := s.serveDebug(); err != nil {
			return err
		}
		defer s.debug.Close()
	}
	errc := make(chan error, 1)
	go func() {
		if s.certs != nil {
			errc <- s.http.ServeTLS(ln, "", "")
			return
		}
		errc <- s.http.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if e := <-errc; err == nil && !errors.Is(e, http.ErrServerClosed) {
		err = e
	}
	if e := s.Drain(sctx); e != nil {
		s.log.WithError(e).Warn("shutting down: blobs still being fetched from upstream were cut off (their uploads are cleaned later)")
	}
	s.log.Info("stopped")
	return err
}

// serveDebug starts the debug listener: /metrics and pprof, kept off the
// main address so profiles are never exposed to registry clients.
func (s *Server) serveDebug() error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.metrics.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", s.cfg.DebugAddr)
	if err != nil {
		return fmt.Errorf("debug address: %w", err)
	}
	s.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.log.WithField("addr", ln.Addr().String()).Info("debug listener: /metrics, /debug/pprof/")
	go s.debug.Serve(ln)
	return nil
}

// cleanUploads removes abandoned upload sessions and temp files now and
// then, and once at start.
func (s *Server) cleanUploads(ctx context.Context) {
	every := min(s.cfg.UploadMaxAge/2, time.Hour)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.store.CleanUploads(ctx, s.cfg.UploadMaxAge)
		if err != nil {
			s.log.WithError(err).Warn("cleaning upload sessions failed")
		} else if n > 0 {
			s.log.WithField("sessions", n).Info("removed abandoned upload sessions")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// collectGarbage runs a collection every GCInterval while serving.
func (s *Server) collectGarbage(ctx context.Context) {
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// On a thread of its own at idle priority: it takes the CPU the
		// requests leave (registry/internal/priority).
		var res *storage.GCResult
		var err error
		if perr := priority.Run(priority.Idle, func() { res, err = s.store.GC(ctx, storage.GCOptions{Grace: s.cfg.GCGrace}) }); perr != nil {
			s.log.WithError(perr).Warn("garbage collection ran at the server's priority")
		}
		var running *storage.GCRunningError
		if errors.As(err, &running) {
			s.log.WithFields(logrus.Fields{"holder": running.Lease.Holder, "lease_expires": running.Lease.Expires}).
				Info("garbage collection skipped: another collection is running")
			continue
		}
		if err != nil {
			s.log.WithError(err).Error("garbage collection failed")
			continue
		}
		s.log.WithFields(logrus.Fields{"deleted_blobs": len(res.DeletedBlobs), "freed_bytes": res.FreedBytes,
			"kept_recent": res.KeptRecent, "duration_ms": res.DurationMS}).Info("garbage collection done")
	}
}
