// Package config holds the registry's one Config: defaults, then REGISTRY_*
// environment variables, then command-line flags, then Validate.
package config

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is everything the registry can be told.
type Config struct {
	Addr           string
	Root           string
	LogLevel       string
	LogFormat      string
	Verbose        bool
	DeleteEnabled  bool
	ReadOnly       bool
	UploadMaxAge   time.Duration
	DebugAddr      string
	GCInterval     time.Duration
	GCGrace        time.Duration
	ChunkMinLength int64
	ShutdownGrace  time.Duration
	HeaderTimeout  time.Duration
	AuthHtpasswd   string
	AuthRealm      string
	AuthAnonPull   bool
	AuthRules      string
	TokenRealm     string
	TokenService   string
	TokenIssuer    string
	TokenKeys      string
	TokenSignKey   string
	TokenTTL       time.Duration
	TLSCert        string
	TLSKey         string
	MaxUploads     int64
	CORSOrigins    string
	UI             bool // serve the web explorer at /ui/
	IdleTimeout    time.Duration
	MinRate        int64
	RateWindow     time.Duration
	Storage        Storage // where the bytes live: storage.go
	Mirror         Mirror  // the pull-through cache: mirror.go
	Instance       string  // this replica's name in its log and metrics: instance.go
	TrustedProxies string  // load balancers whose X-Forwarded-For names the client
	Priority       string  // how far gc and du step aside for serving: idle, low or normal
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		Addr:          ":5000",
		Root:          "./data",
		LogLevel:      "info",
		LogFormat:     "text",
		AuthRealm:     "layerlab",
		TokenService:  "layerlab",
		TokenIssuer:   "layerlab",
		TokenTTL:      5 * time.Minute,
		DeleteEnabled: true,
		UI:            true,
		UploadMaxAge:  24 * time.Hour,
		ShutdownGrace: 30 * time.Second,
		GCGrace:       15 * time.Minute,
		HeaderTimeout: 10 * time.Second,
		IdleTimeout:   2 * time.Minute,
		MaxUploads:    100,
		MinRate:       1024,
		RateWindow:    time.Minute,
		Storage:       storageDefaults(),
		Mirror:        mirrorDefaults(),
		Instance:      defaultInstance(),
		Priority:      "idle",
	}
}

// setting ties a flag to its environment variable and help text.
type setting struct {
	flag, env, help string
	ptr             any
}

func (c *Config) settings() []setting {
	return append([]setting{
		{"addr", "REGISTRY_ADDR", "address to listen on, HOST:PORT", &c.Addr},
		{"root", "REGISTRY_ROOT", "storage root directory", &c.Root},
		{"log-level", "REGISTRY_LOG_LEVEL", "log level: error, warn, info, debug (debug adds the learner's events), trace (and the health probes' successes, every protocol header)", &c.LogLevel},
		{"log-format", "REGISTRY_LOG_FORMAT", "log format: text or json", &c.LogFormat},
		{"verbose", "REGISTRY_VERBOSE", "explain every request in plain words (same as --log-level debug)", &c.Verbose},
		{"delete-enabled", "REGISTRY_DELETE_ENABLED", "allow DELETE of tags, manifests and blobs (cancelling an upload stays allowed)", &c.DeleteEnabled},
		{"read-only", "REGISTRY_READ_ONLY", "refuse every write (pushes, deletes, uploads)", &c.ReadOnly},
		{"upload-max-age", "REGISTRY_UPLOAD_MAX_AGE", "remove upload sessions idle for longer than this", &c.UploadMaxAge},
		{"debug-addr", "REGISTRY_DEBUG_ADDR", "separate address for /metrics and pprof (empty: metrics on the main listener, no pprof)", &c.DebugAddr},
		{"gc-interval", "REGISTRY_GC_INTERVAL", "run garbage collection in the server this often (0: never)", &c.GCInterval},
		{"gc-grace", "REGISTRY_GC_GRACE", "scheduled garbage collection keeps what was touched this recently", &c.GCGrace},
		{"chunk-min-length", "REGISTRY_CHUNK_MIN_LENGTH", "advertise OCI-Chunk-Min-Length (bytes, 0: no minimum)", &c.ChunkMinLength},
		{"header-timeout", "REGISTRY_HEADER_TIMEOUT", "a client must send its request headers within this (slow clients are cut off)", &c.HeaderTimeout},
		{"idle-timeout", "REGISTRY_IDLE_TIMEOUT", "close keep-alive connections idle for longer than this", &c.IdleTimeout},
		{"min-transfer-rate", "REGISTRY_MIN_TRANSFER_RATE", "cut off a request body or a response moving slower than this many bytes a second over the transfer window (0: never)", &c.MinRate},
		{"transfer-window", "REGISTRY_TRANSFER_WINDOW", "the window the minimum transfer rate is averaged over (at least 1s)", &c.RateWindow},
		{"auth-htpasswd", "REGISTRY_AUTH_HTPASSWD", "turn on Basic authentication with this htpasswd file (bcrypt: htpasswd -B, or registry htpasswd)", &c.AuthHtpasswd},
		{"auth-realm", "REGISTRY_AUTH_REALM", "realm named in the Basic challenge", &c.AuthRealm},
		{"auth-anonymous-pull", "REGISTRY_AUTH_ANONYMOUS_PULL", "with authentication on, let anyone pull", &c.AuthAnonPull},
		{"auth-rules", "REGISTRY_AUTH_RULES", "who may do what: 'alice=push:lab/*,pull:*;bob=pull:*' (users without a rule may do everything; a rule for a user the htpasswd file lacks stops the start)", &c.AuthRules},
		{"auth-token-realm", "REGISTRY_AUTH_TOKEN_REALM", "turn on bearer tokens (Docker token protocol): the token server's URL sent in the challenge", &c.TokenRealm},
		{"auth-token-service", "REGISTRY_AUTH_TOKEN_SERVICE", "the service a token must be issued for (its audience)", &c.TokenService},
		{"auth-token-issuer", "REGISTRY_AUTH_TOKEN_ISSUER", "the issuer a token must come from", &c.TokenIssuer},
		{"auth-token-keys", "REGISTRY_AUTH_TOKEN_KEYS", "keys that sign tokens: a PEM file (certificates, public keys), a JWKS file, or a JWKS URL", &c.TokenKeys},
		{"auth-token-signing-key", "REGISTRY_AUTH_TOKEN_SIGNING_KEY", "issue tokens here at /auth/token, signed with this private key (PEM), to the users of the htpasswd file", &c.TokenSignKey},
		{"auth-token-ttl", "REGISTRY_AUTH_TOKEN_TTL", "how long tokens this registry issues stay valid", &c.TokenTTL},
		{"tls-cert", "REGISTRY_TLS_CERT", "serve HTTPS with this certificate (PEM; reloaded when it changes)", &c.TLSCert},
		{"tls-key", "REGISTRY_TLS_KEY", "the certificate's private key (PEM)", &c.TLSKey},
		{"max-uploads-per-client", "REGISTRY_MAX_UPLOADS_PER_CLIENT", "open upload sessions one client address may hold (0: no limit)", &c.MaxUploads},
		{"ui", "REGISTRY_UI", "serve the web layer explorer at /ui/ (--ui=false: off)", &c.UI},
		{"cors-origins", "REGISTRY_CORS_ORIGINS", "comma-separated origins a browser UI may call the API from ('*': any; empty: CORS off)", &c.CORSOrigins},
		{"shutdown-grace", "REGISTRY_SHUTDOWN_GRACE", "how long in-flight requests may finish on SIGINT/SIGTERM", &c.ShutdownGrace},
		{"trusted-proxies", "REGISTRY_TRUSTED_PROXIES", "load balancers (IP addresses or CIDR prefixes, comma-separated) whose X-Forwarded-For names the client: for the access log, the per-client upload limit and login throttling", &c.TrustedProxies},
		{"instance", "REGISTRY_INSTANCE", "this replica's name, on every access-log line and in the metrics (default: the host name)", &c.Instance},
		{"priority", "REGISTRY_PRIORITY", "step aside for the registry serving beside this command: idle (use only the CPU nobody else wants: SCHED_IDLE on Linux, else niceness 19; on a machine busy all the time it takes that much longer), low (niceness 10) or normal (as started); idle and low also take the lowest best-effort I/O priority on Linux", &c.Priority},
	}, append(c.storageSettings(), c.mirrorSettings()...)...)
}

// backgroundOnly are the settings of the background commands (gc, du)
// that serve does not take.
var backgroundOnly = map[string]bool{"priority": true}

// Load builds the configuration from defaults, the environment and args.
// only names the settings a command takes (its flags and the REGISTRY_*
// variables it reads); none means every setting but the background
// commands' own (the serve command). It returns the remaining arguments.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string, only ...string) (Config, []string, error) {
	c := Defaults()
	all := c.settings()
	selected, err := pick(all, only)
	if err != nil {
		return c, nil, err
	}
	for _, s := range selected {
		if v := getenv(s.env); v != "" {
			if err := set(s.ptr, v); err != nil {
				return c, nil, fmt.Errorf("%s=%q: %w", s.env, v, err)
			}
		}
		help := fmt.Sprintf("%s (env %s)", s.help, s.env)
		switch p := s.ptr.(type) {
		case *string:
			fs.StringVar(p, s.flag, *p, help)
		case *bool:
			fs.BoolVar(p, s.flag, *p, help)
		case *time.Duration:
			fs.DurationVar(p, s.flag, *p, help)
		case *int64:
			fs.Int64Var(p, s.flag, *p, help)
		case *List:
			listFlag(fs, p, s.flag, help)
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	return c, fs.Args(), c.Validate()
}

// pick returns the settings named in only, or all of them when only is empty.
func pick(all []setting, only []string) ([]setting, error) {
	if len(only) == 0 {
		var picked []setting
		for _, s := range all {
			if !backgroundOnly[s.flag] {
				picked = append(picked, s)
			}
		}
		return picked, nil
	}
	byFlag := make(map[string]setting, len(all))
	for _, s := range all {
		byFlag[s.flag] = s
	}
	picked := make([]setting, 0, len(only))
	for _, name := range only {
		s, ok := byFlag[name]
		if !ok {
			return nil, fmt.Errorf("no setting %q", name)
		}
		picked = append(picked, s)
	}
	return picked, nil
}

func set(ptr any, v string) error {
	switch p := ptr.(type) {
	case *string:
		*p = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		*p = b
	case *time.Duration:
		if v == "0" || v == "off" {
			*p = 0
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		*p = d
	case *int64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		*p = n
	case *List:
		*p = List(v)
	}
	return nil
}

// Validate checks the values that can be wrong.
func (c *Config) Validate() error {
	if c.Verbose {
		c.LogLevel = "debug"
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log format %q: want text or json", c.LogFormat)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("TLS needs both a certificate and a key")
	}
	if c.TokenSignKey != "" && c.AuthHtpasswd == "" {
		return fmt.Errorf("issuing tokens needs the users: set the htpasswd file too")
	}
	if c.TokenRealm != "" && c.TokenKeys == "" && c.TokenSignKey == "" {
		return fmt.Errorf("bearer tokens need the keys that sign them (auth-token-keys)")
	}
	if c.TokenKeys != "" && c.TokenRealm == "" && c.TokenSignKey == "" {
		return fmt.Errorf("bearer tokens need the token server's URL (auth-token-realm)")
	}
	if err := c.validateStorage(); err != nil {
		return err
	}
	if err := c.validateMirror(); err != nil {
		return err
	}
	if err := validInstance(c.Instance); err != nil {
		return err
	}
	if !strings.Contains(c.Addr, ":") {
		return fmt.Errorf("address %q: want HOST:PORT or :PORT", c.Addr)
	}
	if c.ChunkMinLength < 0 || c.MaxUploads < 0 || c.MinRate < 0 {
		return fmt.Errorf("chunk-min-length, max-uploads-per-client and min-transfer-rate must not be negative")
	}
	switch c.Priority {
	case "idle", "low", "normal":
	default:
		return fmt.Errorf("--priority %q: want idle, low or normal", c.Priority)
	}
	if c.MinRate > 0 && c.RateWindow < time.Second {
		return fmt.Errorf("--transfer-window %s: must be at least 1s", c.RateWindow)
	}
	return c.validateDurations()
}

// validateDurations checks every duration against the least it may be,
// naming the setting at fault.
func (c *Config) validateDurations() error {
	for _, d := range []struct {
		flag    string
		v, min  time.Duration
		zeroOff bool // 0 switches the feature off
	}{
		{"upload-max-age", c.UploadMaxAge, time.Minute, false}, // shorter would remove sessions between two chunks
		{"gc-interval", c.GCInterval, time.Minute, true},
		{"gc-grace", c.GCGrace, 0, false},
		{"shutdown-grace", c.ShutdownGrace, 0, false},
		{"header-timeout", c.HeaderTimeout, time.Nanosecond, false},
		{"idle-timeout", c.IdleTimeout, time.Nanosecond, false},
		{"auth-token-ttl", c.TokenTTL, time.Nanosecond, false},
	} {
		if d.v >= d.min || (d.zeroOff && d.v == 0) {
			continue
		}
		want := "must not be negative"
		switch {
		case d.min == time.Nanosecond:
			want = "must be positive"
		case d.min > 0 && d.zeroOff:
			want = fmt.Sprintf("must be 0 (off) or at least %s", d.min)
		case d.min > 0:
			want = fmt.Sprintf("must be at least %s", d.min)
		}
		return fmt.Errorf("--%s %s: %s", d.flag, d.v, want)
	}
	return nil
}

// Getenv is os.Getenv, named for callers that pass it to Load.
var Getenv = os.Getenv
