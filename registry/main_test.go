package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
}

// "registry --help" and "registry -h" print the usage with the list of
// commands (run has a branch for it).
func TestTopLevelHelpShowsCommands(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		code, out, errOut := runCmd(t, arg)
		if code != 0 || !strings.Contains(out+errOut, "registry gc") || !strings.Contains(out+errOut, "registry du") {
			t.Errorf("registry %s: exit %d, output does not list the commands:\n%s%s", arg, code, out, errOut)
		}
	}
}
