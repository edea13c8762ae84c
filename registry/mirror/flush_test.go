package mirror_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver/filesystem"
)

// heldMirror is a mirror whose store holds up the first flush of a file
// under the directory part of its root, until release is closed (held
// closes when it starts): a fill's commit caught half-way.
type heldMirror struct {
	up             *upstream
	m              *registrytest.Registry
	store          *storage.Store
	held, release  chan struct{}
	releaseOnce    sync.Once
	blob           digest.Digest
	size           int64
	client         *http.Client // one connection to the mirror
	blobURL, first string
}

func newHeldMirror(t *testing.T, part string) *heldMirror {
	h := &heldMirror{held: make(chan struct{}), release: make(chan struct{})}
	h.up = newUpstream(t, basicAuth)
	h.blob, h.size = bigImage(t, h.up, "lab/big:1", 4<<20)
	root := t.TempDir() // removed after the registry drained: its fills wrote
	var hold sync.Once
	fs, err := filesystem.New(root, filesystem.Options{SyncFault: func(path string) error {
		if strings.HasPrefix(path, filepath.Join(root, part)+string(filepath.Separator)) {
			hold.Do(func() { close(h.held); <-h.release })
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if h.store, err = storage.Open(root, storage.Options{Driver: fs}); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(creds, []byte("hub/="+upstreamUser+":"+upstreamPassword+"\n"), 0o600)
	h.m = registrytest.New(t, registrytest.Options{Root: root, Store: h.store, Config: func(c *config.Config) {
		c.Mirror.Specs = config.List("hub/=" + h.up.URL)
		c.Mirror.Credentials = creds
	}})
	t.Cleanup(h.letGo)
	h.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	h.blobURL = h.m.URL + "/v2/hub/lab/big/blobs/" + h.blob.String()
	return h
}

func (h *heldMirror) letGo() { h.releaseOnce.Do(func() { close(h.release) }) }

// pull GETs the blob and checks it is whole.
func (h *heldMirror) pull(what string) error {
	resp, err := h.client.Get(h.blobURL)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || int64(len(body)) != h.size || digest.FromBytes(body) != h.blob {
		return fmt.Errorf("%s: %d, %d of %d bytes, err %v: %s", what, resp.StatusCode, len(body), h.size, err, body[:min(len(body), 200)])
	}
	return nil
}

// waitHeld waits until the store holds its flush up.
func (h *heldMirror) waitHeld(t *testing.T) {
	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the fill never reached the flush held up")
	}
}

// TestClientNotHeldByFlush: the client that started a fill gets the whole
// blob, and the end of its response, once the digest matched: the flush
// that makes the cached blob durable goes on without it. Its next request
// on the same connection is answered while that flush is still held, and
// the blob is in the store once the flush is let go.
func TestClientNotHeldByFlush(t *testing.T) {
	t.Parallel()
	h := newHeldMirror(t, "uploads") // the fill's bytes
	if err := h.pull("first pull"); err != nil {
		t.Fatal(err)
	}
	h.waitHeld(t)
	// The same connection (one per host): answered while the flush is held.
	answered := make(chan error, 1)
	go func() {
		resp, err := h.client.Get(h.m.URL + "/v2/")
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the next request on the connection waited for the flush of the cached blob")
	}
	// Draining the registry waits for the fill: not while its flush is held,
	// and once it is let go, with the blob in the store.
	short, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := h.m.Drain(short); err == nil {
		t.Fatal("the registry drained while a fill's flush was held")
	}
	h.letGo()
	if err := h.m.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.StatBlob(t.Context(), "hub/lab/big", h.blob); err != nil {
		t.Fatalf("the blob is not cached once the registry drained: %v", err)
	}
}

// TestPullFollowsFillUntilLinked: a client whose pull got the whole blob
// before the fill linked it into the repository pulls it again at once,
// the upstream gone meanwhile. The second pull (and a HEAD) wait for the
// fill under way, not ask the upstream, and are served from the store.
func TestPullFollowsFillUntilLinked(t *testing.T) {
	t.Parallel()
	h := newHeldMirror(t, "tmp") // the repository's link to the blob just stored
	if err := h.pull("first pull"); err != nil {
		t.Fatal(err)
	}
	h.waitHeld(t)
	h.up.Close()
	done := make(chan error, 1)
	go func() {
		head, err := http.Head(h.blobURL)
		if err != nil || head.StatusCode != http.StatusOK || head.ContentLength != h.size {
			done <- fmt.Errorf("HEAD while the fill links the blob: %v %v", head, err)
			return
		}
		done <- h.pull("second pull while the fill links the blob")
	}()
	time.Sleep(100 * time.Millisecond) // both asked while the link is held up
	h.letGo()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
