package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// TestExplorerLiveShowsReuse: what the live view promises a learner who
// pushes an image built on lab/base — HEAD, POST, PATCH and PUT, the base's
// layers "mounted from lab/base" instead of uploaded, and on a second push
// every layer "already exists".
func TestExplorerLiveShowsReuse(t *testing.T) {
	ts := registrytest.New(t, registrytest.Options{}).Server
	b := newBrowser(t) // closed before the server: it holds a live stream
	pushFamily(t, ts, authn.Anonymous)
	host := strings.TrimPrefix(ts.URL, "http://")
	baseRef, _ := name.ParseReference(host+"/lab/base:1.0", name.Insecure)
	base, err := remote.Image(baseRef)
	if err != nil {
		t.Fatal(err)
	}
	derived := addLayers(t, base, map[string][]string{"COPY d /app": {"app/d"}}, "COPY d /app")

	b.do("live", chromedp.Navigate(ts.URL+"/ui/#/live"))
	b.wait("live stream", `document.querySelector('[role=status]') && document.querySelector('[role=status]').textContent.startsWith('Connected')`)
	done := make(chan string, 1)
	go func() {
		var errs []string
		for _, tag := range []string{"lab/app-d:1.0", "lab/app-d:1.1"} {
			ref, _ := name.ParseReference(host+"/"+tag, name.Insecure)
			if err := remote.Write(ref, derived); err != nil {
				errs = append(errs, tag+": "+err.Error())
			}
		}
		done <- fmt.Sprint(errs)
	}()
	b.wait("both pushes", `[...document.querySelectorAll('#live-list > li')].some(l => l.querySelector('.method').textContent === 'PUT' &&
		l.querySelector('.path').textContent === '/v2/lab/app-d/manifests/1.1')`)
	if err := <-done; err != "[]" {
		t.Fatalf("pushes while watching: %s", err)
	}
	methods := eval[[]string](b, `[...new Set([...document.querySelectorAll('#live-list > li .method')].map(m => m.textContent))].sort()`)
	for _, m := range []string{"HEAD", "PATCH", "POST", "PUT"} {
		if !strings.Contains(strings.Join(methods, " "), m) {
			t.Errorf("no %s request in the live view (saw %v)", m, methods)
		}
	}
	events := eval[[]string](b, `[...document.querySelectorAll('#live-list li.event')].map(e => e.textContent)`)
	for _, want := range []string{"blob mounted from lab/base", "blob already exists here", "manifest pushed: lab/app-d:1.1"} {
		if !strings.Contains(strings.Join(events, "\n"), want) {
			t.Errorf("no learner event %q in the live view; saw:\n%s", want, strings.Join(events, "\n"))
		}
	}
	b.noDialogs()
}
