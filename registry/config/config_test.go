package config

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, []string, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return Load(fs, args, func(k string) string { return env[k] })
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, rest, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Fatalf("remaining args %v", rest)
	}
	want := Defaults()
	if c != want {
		t.Fatalf("loaded %+v, want the defaults %+v", c, want)
	}
	if !c.DeleteEnabled || c.ReadOnly || c.Addr != ":5000" || c.UploadMaxAge != 24*time.Hour || c.LogFormat != "text" {
		t.Fatalf("unexpected defaults %+v", c)
	}
}

func TestEnvironmentThenFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"REGISTRY_ADDR":              "127.0.0.1:6000",
		"REGISTRY_ROOT":              "/srv/env",
		"REGISTRY_LOG_FORMAT":        "json",
		"REGISTRY_DELETE_ENABLED":    "false",
		"REGISTRY_READ_ONLY":         "true",
		"REGISTRY_UPLOAD_MAX_AGE":    "2h",
		"REGISTRY_GC_INTERVAL":       "off",
		"REGISTRY_CHUNK_MIN_LENGTH":  "1048576",
		"REGISTRY_SHUTDOWN_GRACE":    "5s",
		"REGISTRY_MIN_TRANSFER_RATE": "4096",
		"REGISTRY_TRANSFER_WINDOW":   "10s",
	}
	c, _, err := load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:6000" || c.Root != "/srv/env" || c.LogFormat != "json" || c.DeleteEnabled || !c.ReadOnly ||
		c.UploadMaxAge != 2*time.Hour || c.GCInterval != 0 || c.ChunkMinLength != 1<<20 || c.ShutdownGrace != 5*time.Second ||
		c.MinRate != 4096 || c.RateWindow != 10*time.Second {
		t.Fatalf("environment not applied: %+v", c)
	}
	// Flags win over the environment.
	c, rest, err := load(t, env, "--root", "/srv/flag", "--read-only=false", "--gc-interval", "1h", "extra")
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != "/srv/flag" || c.ReadOnly || c.GCInterval != time.Hour || c.Addr != "127.0.0.1:6000" {
		t.Fatalf("flags did not win: %+v", c)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Fatalf("remaining args %v", rest)
	}
}

func TestVerboseMeansDebug(t *testing.T) {
	t.Parallel()
	c, _, err := load(t, map[string]string{"REGISTRY_VERBOSE": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "debug" {
		t.Fatalf("verbose: log level %q", c.LogLevel)
	}
}

// TestOnlyTheCommandsSettings: a command that names its settings gets
// those flags and reads those variables, and no others.
func TestOnlyTheCommandsSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"REGISTRY_ROOT": "/srv/env", "REGISTRY_LOG_FORMAT": "xml", "REGISTRY_ADDR": "nowhere"}
	fs := flag.NewFlagSet("du", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, _, err := Load(fs, nil, func(k string) string { return env[k] }, "root")
	if err != nil {
		t.Fatalf("variables of other settings stopped the command: %v", err)
	}
	if c.Root != "/srv/env" || c.LogFormat != "text" || c.Addr != Defaults().Addr {
		t.Fatalf("root from the environment, the rest defaults: got %+v", c)
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(names) != 1 || names[0] != "root" {
		t.Fatalf("flags %v, want only root", names)
	}
	if _, _, err := Load(flag.NewFlagSet("x", flag.ContinueOnError), nil, Getenv, "root", "no-such-setting"); err == nil ||
		!strings.Contains(err.Error(), "no-such-setting") {
		t.Fatalf("an unknown setting name: %v, want an error naming it", err)
	}
}

func TestEverySettingHasAFlagAndAVariable(t *testing.T) {
	t.Parallel()
	var c Config
	flags, envs := map[string]bool{}, map[string]bool{}
	for _, s := range c.settings() {
		if flags[s.flag] || envs[s.env] || s.help == "" || !strings.HasPrefix(s.env, "REGISTRY_") {
			t.Errorf("setting %+v: flag and variable must be unique, the variable REGISTRY_*, the help set", s)
		}
		flags[s.flag], envs[s.env] = true, true
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad bool in env", map[string]string{"REGISTRY_READ_ONLY": "maybe"}, nil, "REGISTRY_READ_ONLY"},
		{"bad duration in env", map[string]string{"REGISTRY_UPLOAD_MAX_AGE": "soon"}, nil, "REGISTRY_UPLOAD_MAX_AGE"},
		{"bad number in env", map[string]string{"REGISTRY_CHUNK_MIN_LENGTH": "big"}, nil, "REGISTRY_CHUNK_MIN_LENGTH"},
		{"log format", nil, []string{"--log-format", "xml"}, "log format"},
		{"empty root", nil, []string{"--root", ""}, "root"},
		{"address without port", nil, []string{"--addr", "localhost"}, "address"},
		{"zero upload age", nil, []string{"--upload-max-age", "0s"}, "--upload-max-age 0s: must be at least 1m0s"},
		{"upload age of 1ns", nil, []string{"--upload-max-age", "1ns"}, "--upload-max-age 1ns: must be at least 1m0s"},
		{"negative gc interval", nil, []string{"--gc-interval", "-1m"}, "--gc-interval -1m0s: must be 0 (off) or at least 1m0s"},
		{"gc interval of 1ns", nil, []string{"--gc-interval", "1ns"}, "--gc-interval 1ns: must be 0 (off)"},
		{"negative gc grace", nil, []string{"--gc-grace", "-1s"}, "--gc-grace -1s: must not be negative"},
		{"negative gc grace in env", map[string]string{"REGISTRY_GC_GRACE": "-5m"}, nil, "--gc-grace -5m0s"},
		{"negative shutdown grace", nil, []string{"--shutdown-grace", "-1s"}, "--shutdown-grace -1s: must not be negative"},
		{"zero header timeout", nil, []string{"--header-timeout", "0s"}, "--header-timeout 0s: must be positive"},
		{"negative idle timeout", nil, []string{"--idle-timeout", "-1s"}, "--idle-timeout -1s: must be positive"},
		{"zero token ttl", nil, []string{"--auth-token-ttl", "0s"}, "--auth-token-ttl 0s: must be positive"},
		{"negative chunk length", nil, []string{"--chunk-min-length", "-5"}, "negative"},
		{"unknown flag", nil, []string{"--no-such-flag"}, "no-such-flag"},
		{"negative transfer rate", map[string]string{"REGISTRY_MIN_TRANSFER_RATE": "-1"}, nil, "negative"},
		{"transfer window under a second", nil, []string{"--transfer-window", "500ms"}, "transfer-window"},
		{"certificate without a key", nil, []string{"--tls-cert", "c.pem"}, "TLS"},
		{"signing key without users", nil, []string{"--auth-token-signing-key", "k.pem"}, "htpasswd"},
		{"token realm without keys", nil, []string{"--auth-token-realm", "https://auth/token"}, "auth-token-keys"},
		{"token keys without a realm", nil, []string{"--auth-token-keys", "keys.pem"}, "auth-token-realm"},
		{"negative header timeout", map[string]string{"REGISTRY_HEADER_TIMEOUT": "-1s"}, nil, "header-timeout"},
		{"negative uploads per client", nil, []string{"--max-uploads-per-client", "-1"}, "negative"},
		{"zero token lifetime", nil, []string{"--auth-token-ttl", "0s"}, "auth-token-ttl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := load(t, c.env, c.args...)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestHelpIsErrHelp(t *testing.T) {
	t.Parallel()
	_, _, err := load(t, nil, "--help")
	if err != flag.ErrHelp {
		t.Fatalf("--help: %v, want flag.ErrHelp", err)
	}
}

// The explorer is on by default; --ui=false or REGISTRY_UI=false turns it off.
func TestUISwitch(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want bool
	}{
		{nil, nil, true},
		{nil, []string{"--ui=false"}, false},
		{map[string]string{"REGISTRY_UI": "false"}, nil, false},
		{map[string]string{"REGISTRY_UI": "false"}, []string{"--ui=true"}, true},
	} {
		c, _, err := load(t, tc.env, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if c.UI != tc.want {
			t.Errorf("env %v args %v: UI %v, want %v", tc.env, tc.args, c.UI, tc.want)
		}
	}
}

// --priority is gc's and du's: serve has no such flag and ignores
// REGISTRY_PRIORITY; the background commands take idle (the default), low
// or normal.
func TestPriority(t *testing.T) {
	t.Parallel()
	if _, _, err := load(t, nil, "--priority", "low"); err == nil || !strings.Contains(err.Error(), "priority") {
		t.Errorf("serve --priority low: %v, want the flag refused", err)
	}
	if _, _, err := load(t, map[string]string{"REGISTRY_PRIORITY": "lowest"}); err != nil {
		t.Errorf("serve with REGISTRY_PRIORITY=lowest: %v, want it ignored", err)
	}
	for _, c := range []struct {
		env  string
		args []string
		want string
		err  string
	}{
		{"", nil, "idle", ""},
		{"normal", nil, "normal", ""},
		{"normal", []string{"--priority", "low"}, "low", ""},
		{"lowest", nil, "", `--priority "lowest": want idle, low or normal`},
		{"", []string{"--priority", "10"}, "", `--priority "10": want idle, low or normal`},
	} {
		fs := flag.NewFlagSet("gc", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg, _, err := Load(fs, c.args, func(k string) string { return map[string]string{"REGISTRY_PRIORITY": c.env}[k] }, "root", "priority")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("REGISTRY_PRIORITY=%q %v: %v, want %q", c.env, c.args, err, c.err)
			}
			continue
		}
		if err != nil || cfg.Priority != c.want {
			t.Errorf("REGISTRY_PRIORITY=%q %v: priority %q (%v), want %q", c.env, c.args, cfg.Priority, err, c.want)
		}
	}
}
