package server_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The explorer in a real browser: Debian's headless Chromium driven by
// chromedp. Skipped only where no Chromium is installed (scripts/tools.sh
// installs it; CI always has it). Screenshots of each view land in
// bin/ui-screenshots/ for a person to look at.

const hostile = `<img src=x onerror=alert(1)>`

// browser starts a headless Chromium; it fails the test on any JavaScript
// dialog (an alert would mean injected script ran) unless accept is set.
type browser struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	dialogs []string
	accept  bool
}

func chromiumPath() string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" && os.Getenv("REQUIRE_CHROMIUM") != "" {
		t.Fatal("REQUIRE_CHROMIUM is set and no chromium binary is installed (bash scripts/tools.sh installs it)")
	}
	if path == "" {
		fmt.Fprintln(os.Stderr, "SKIPPED: explorer browser tests: no chromium binary (bash scripts/tools.sh installs it)")
		t.Skip("no chromium binary: install it with bash scripts/tools.sh")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	b := &browser{t: t, ctx: ctx}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			accept := b.accept && ev.Type == page.DialogTypeConfirm
			b.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	}()
	return b
}

// do runs actions, each step bounded.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a JavaScript predicate until it holds.
func (b *browser) wait(what, js string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	var err error
	for {
		// A navigation replaces the page's JavaScript context under a
		// poll: that is no answer, ask the new page.
		if _, err = chromedp.Run(ctx, chromedp.Poll[bool](js)); err == nil || ctx.Err() != nil ||
			!strings.Contains(err.Error(), "context") || strings.Contains(err.Error(), "deadline") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('view') ? document.getElementById('view').innerText.slice(0, 400) : ''`))
		b.t.Fatalf("%s: waiting for %s: %v (the view says: %q)", what, js, err, text)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "bin", "ui-screenshots")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// sawDialog waits a little for a dialog of a kind (alert, confirm…).
func (b *browser) sawDialog(kind string) bool {
	for range 50 {
		b.mu.Lock()
		for _, d := range b.dialogs {
			if strings.HasPrefix(d, kind+":") {
				b.mu.Unlock()
				return true
			}
		}
		b.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// setAccept says whether confirmations are accepted from now on.
func (b *browser) setAccept(v bool) {
	b.mu.Lock()
	b.accept = v
	b.mu.Unlock()
}

func (b *browser) noDialogs() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range b.dialogs {
		if strings.HasPrefix(d, "alert") {
			b.t.Errorf("a script ran: dialog %q", d)
		}
	}
}

// tarLayer is a gzip layer holding the named files.
func tarLayer(t *testing.T, files ...string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		body := []byte("content of " + f + "\n")
		tw.WriteHeader(&tar.Header{Name: f, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
		tw.Write(body)
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func addLayers(t *testing.T, img v1.Image, steps map[string][]string, order ...string) v1.Image {
	t.Helper()
	for _, step := range order {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: tarLayer(t, steps[step]...), History: v1.History{CreatedBy: step}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func pushImage(t *testing.T, ts *httptest.Server, repo string, img v1.Image, a authn.Authenticator) string {
	t.Helper()
	ref, err := name.ParseReference(strings.TrimPrefix(ts.URL, "http://")+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(a)); err != nil {
		t.Fatalf("push %s: %v", repo, err)
	}
	d, _ := img.Digest()
	return d.String()
}

// family pushes lab/base:1.0 and two images built on it.
func pushFamily(t *testing.T, ts *httptest.Server, a authn.Authenticator) (base, appA, appB string) {
	t.Helper()
	steps := map[string][]string{
		"ADD rootfs.tar /":              {"etc/os-release", "bin/sh"},
		"RUN apk add curl # " + hostile: {"usr/bin/curl", "usr/share/" + hostile},
		"COPY a /app":                   {"app/a"},
		"COPY b /app":                   {"app/b", "app/b.conf"},
	}
	baseImg := addLayers(t, empty.Image, steps, "ADD rootfs.tar /", "RUN apk add curl # "+hostile)
	base = pushImage(t, ts, "lab/base:1.0", baseImg, a)
	appA = pushImage(t, ts, "lab/app-a:1.0", addLayers(t, baseImg, steps, "COPY a /app"), a)
	appB = pushImage(t, ts, "lab/app-b:1.0", mutate.Annotations(addLayers(t, baseImg, steps, "COPY b /app"),
		map[string]string{"org.opencontainers.image.title": hostile}).(v1.Image), a)
	return base, appA, appB
}

// layerDigestsOf asks the query API for an image's layers.
func layerDigestsOf(t *testing.T, ts *httptest.Server, d string) []string {
	t.Helper()
	var img struct{ Layers []struct{ Digest string } }
	getAs(t, ts, "/api/images/"+d, "", &img)
	var out []string
	for _, l := range img.Layers {
		out = append(out, l.Digest)
	}
	return out
}
