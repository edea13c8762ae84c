package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommands(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args       []string
		code       int
		stdout     string
		stderrHave string
	}{
		{[]string{"version"}, 0, "registry dev\n", ""},
		{[]string{"help"}, 0, "Usage:", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve", "--log-format", "xml"}, 2, "", "log format"},
		{[]string{"serve", "--no-such-flag"}, 2, "", "no-such-flag"},
		{[]string{"--addr", "nowhere"}, 2, "", "address"}, // flags alone mean serve
		{[]string{"serve", "--help"}, 0, "", "-read-only"},
		{[]string{"gc", "--root", ""}, 2, "", "root"},
		{[]string{"du", "--bogus"}, 2, "", "bogus"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, c.code, errOut)
			}
			if c.stdout != "" && !strings.Contains(out, c.stdout) {
				t.Fatalf("stdout %q, want it to contain %q", out, c.stdout)
			}
			if c.stderrHave != "" && !strings.Contains(errOut, c.stderrHave) {
				t.Fatalf("stderr %q, want it to contain %q", errOut, c.stderrHave)
			}
		})
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	status := http.StatusOK
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	if code, _, errOut := runCmd(t, "healthcheck", "--addr", addr); code != 0 {
		t.Fatalf("ready registry: exit %d: %s", code, errOut)
	}
	status = http.StatusServiceUnavailable
	if code, _, _ := runCmd(t, "healthcheck", "--addr", addr); code != 1 {
		t.Fatalf("unready registry: exit %d, want 1", code)
	}
	ts.Close()
	if code, _, _ := runCmd(t, "healthcheck", "--addr", addr); code != 1 {
		t.Fatalf("registry down: exit %d, want 1", code)
	}
}

func TestGCAndDU(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := storage.Open(root, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, layer, loose := []byte(`{"os":"linux"}`), []byte("layer bytes"), []byte("nobody references this")
	for _, b := range [][]byte{cfg, layer, loose} {
		if _, err := s.PutBlob(t.Context(), "lab/app", digest.FromBytes(b), -1, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digest.FromBytes(cfg).String() + `","size":14},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + digest.FromBytes(layer).String() + `","size":11}]}`)
	if _, _, err := s.PutManifest(t.Context(), "lab/app", "v1", "", m, nil); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCmd(t, "du", "--root", root, "--json")
	if code != 0 {
		t.Fatalf("du: exit %d: %s", code, errOut)
	}
	var u storage.Usage
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		t.Fatalf("du --json: %v: %s", err, out)
	}
	if u.Blobs != 4 || len(u.Repositories) != 1 || u.Repositories[0].Name != "lab/app" || u.UnreferencedBytes != int64(len(loose)) {
		t.Fatalf("du report %+v", u)
	}
	if code, out, _ := runCmd(t, "du", "--root", root); code != 0 || !strings.Contains(out, "lab/app") {
		t.Fatalf("du table: exit %d: %s", code, out)
	}

	code, out, errOut = runCmd(t, "gc", "--root", root, "--grace", "0s", "--dry-run")
	if code != 0 || !strings.Contains(out, digest.FromBytes(loose).String()) {
		t.Fatalf("gc --dry-run: exit %d: %s %s", code, out, errOut)
	}
	if _, err := s.StatBlob(t.Context(), "lab/app", digest.FromBytes(loose)); err != nil {
		t.Fatalf("dry run deleted: %v", err)
	}
	code, out, errOut = runCmd(t, "gc", "--root", root, "--grace", "0s")
	if code != 0 || !strings.Contains(out, digest.FromBytes(loose).String()) {
		t.Fatalf("gc: exit %d: %s %s", code, out, errOut)
	}
	if _, ok := s.BlobSize(t.Context(), digest.FromBytes(loose)); ok {
		t.Fatal("gc kept the unreferenced blob")
	}
	for _, b := range [][]byte{cfg, layer} {
		if _, err := s.StatBlob(t.Context(), "lab/app", digest.FromBytes(b)); err != nil {
			t.Fatalf("gc deleted a referenced blob: %v", err)
		}
	}
	if _, _, _, err := s.GetManifest(t.Context(), "lab/app", "v1"); err != nil {
		t.Fatalf("gc deleted the manifest: %v", err)
	}

	// Another collector holds the lease: gc says who, exits 3, deletes nothing.
	lease := fmt.Sprintf(`{"generation":99,"holder":"other-host/42","acquired":%q,"expires":%q}`,
		time.Now().Format(time.RFC3339), time.Now().Add(time.Hour).Format(time.RFC3339))
	os.MkdirAll(filepath.Join(root, "gc"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "gc", "lease-00000000000000000099"), []byte(lease), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCmd(t, "gc", "--root", root, "--grace", "0s")
	if code != 3 || !strings.Contains(errOut, "another collection is running") || !strings.Contains(errOut, "other-host/42") {
		t.Fatalf("gc while another holds the lease: exit %d, stderr %s; want 3 naming the holder", code, errOut)
	}
}

// "registry --help" and "registry -h" print the usage with the list of
// commands (run has a branch for it).
func TestTopLevelHelpShowsCommands(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--help", "-h"} {
		code, out, errOut := runCmd(t, arg)
		if code != 0 || !strings.Contains(out+errOut, "registry gc") || !strings.Contains(out+errOut, "registry du") {
			t.Errorf("registry %s: exit %d, output does not list the commands:\n%s%s", arg, code, out, errOut)
		}
	}
}

// TestCommandFlags pins the flags each command's help lists: a command
// takes only the flags it uses.
func TestCommandFlags(t *testing.T) {
	t.Parallel()
	serve := []string{"addr", "auth-anonymous-pull", "auth-htpasswd", "auth-realm", "auth-rules", "auth-token-issuer",
		"auth-token-keys", "auth-token-realm", "auth-token-service", "auth-token-signing-key", "auth-token-ttl",
		"chunk-min-length", "cors-origins", "debug-addr", "delete-enabled", "gc-grace", "gc-interval", "header-timeout",
		"idle-timeout", "instance", "log-format", "log-level", "max-uploads-per-client", "min-transfer-rate", "mirror", "mirror-ca",
		"mirror-credentials", "mirror-max-age", "mirror-ttl", "read-only", "root",
		"s3-bucket", "s3-endpoint", "s3-insecure-skip-verify", "s3-part-size", "s3-path-style", "s3-prefix", "s3-redirect",
		"s3-region", "shutdown-grace", "storage", "tls-cert", "tls-key", "transfer-window", "trusted-proxies", "ui", "upload-max-age", "verbose"}
	store := []string{"root", "s3-bucket", "s3-endpoint", "s3-insecure-skip-verify", "s3-part-size", "s3-path-style",
		"s3-prefix", "s3-region", "storage"}
	with := func(own ...string) []string { out := append(own, store...); slices.Sort(out); return out }
	cases := map[string][]string{
		"serve":       serve,
		"healthcheck": {"addr", "tls-cert", "tls-key"},
		"gc":          with("delete-untagged", "dry-run", "grace", "json", "priority", "wait"),
		"du":          with("json", "priority"),
		"sql":         with("csv", "export", "json", "schema"),
	}
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	for cmd, want := range cases {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			code, _, help := runCmd(t, cmd, "--help")
			if code != 0 {
				t.Fatalf("%s --help: exit %d", cmd, code)
			}
			var got []string
			for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
				got = append(got, m[1])
			}
			if !slices.IsSorted(got) || !slices.Equal(got, want) {
				t.Errorf("%s --help lists %v\nwant %v", cmd, got, want)
			}
		})
	}
}

// TestCommandEnvironment: a command reads the REGISTRY_* variables of its
// own settings and no other, so a server's environment (here a log format
// gc does not know) does not stop it.
func TestCommandEnvironment(t *testing.T) {
	root := t.TempDir()
	t.Setenv("REGISTRY_ROOT", root)
	t.Setenv("REGISTRY_LOG_FORMAT", "xml")
	if code, _, errOut := runCmd(t, "du", "--json"); code != 0 {
		t.Fatalf("du with a serve-only variable set: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "serve"); code != 2 || !strings.Contains(errOut, "log format") {
		t.Fatalf("serve with REGISTRY_LOG_FORMAT=xml: exit %d %s, want 2 and the log format named", code, errOut)
	}
	if entries, _ := os.ReadDir(root); len(entries) == 0 {
		t.Fatalf("du did not open the store in REGISTRY_ROOT %s", root)
	}
}

// TestUsageJSONStreamed: du --json, printed a repository at a time, is
// byte for byte what encoding the whole report gives.
func TestUsageJSONStreamed(t *testing.T) {
	for _, rows := range [][]storage.RepoUsage{{}, {{Name: "a", Manifests: 1, LogicalBytes: 5}}, {{Name: "a"}, {Name: "b/c", Tags: 2, ExclusiveBytes: 7}}} {
		u := &storage.Usage{Repositories: rows, Blobs: 3, PhysicalBytes: 99, TempFiles: 1}
		var whole, streamed bytes.Buffer
		printJSON(&whole, u)
		if printUsageJSON(&streamed, u) != 0 || streamed.String() != whole.String() {
			t.Errorf("%d rows: streamed\n%s\nwant\n%s", len(rows), streamed.String(), whole.String())
		}
	}
}
