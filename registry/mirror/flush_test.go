package mirror_test

import (
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

// TestClientNotHeldByFlush: the client that started a fill gets the whole
// blob, and the end of its response, once the digest matched: the flush
// that makes the cached blob durable goes on without it. Its next request
// on the same connection is answered while that flush is still held, and
// the blob is in the store once the flush is let go.
func TestClientNotHeldByFlush(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, basicAuth)
	d, size := bigImage(t, up, "lab/big:1", 4<<20)

	root := t.TempDir()
	var hold sync.Once
	held, release := make(chan struct{}), make(chan struct{})
	fs, err := filesystem.New(root, filesystem.Options{SyncFault: func(path string) error {
		if strings.Contains(path, string(filepath.Separator)+"uploads"+string(filepath.Separator)) {
			hold.Do(func() { close(held); <-release }) // the first flush of the fill's bytes
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := storage.Open(root, storage.Options{Driver: fs})
	if err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(creds, []byte("hub/="+upstreamUser+":"+upstreamPassword+"\n"), 0o600)
	m := registrytest.New(t, registrytest.Options{Root: root, Store: store, Config: func(c *config.Config) {
		c.Mirror.Specs = config.List("hub/=" + up.URL)
		c.Mirror.Credentials = creds
	}})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	resp, err := client.Get(m.URL + "/v2/hub/lab/big/blobs/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || int64(len(body)) != size || digest.FromBytes(body) != d {
		t.Fatalf("first pull: %d of %d bytes, err %v", len(body), size, err)
	}
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the fill never flushed its bytes")
	}
	// The same connection (one per host): answered while the flush is held.
	answered := make(chan error, 1)
	go func() {
		resp, err := client.Get(m.URL + "/v2/")
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
	close(release)
	released = true
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := store.StatBlob(t.Context(), "hub/lab/big", d); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the blob was not cached once its flush went through")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
