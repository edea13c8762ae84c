package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
)

// TestDiskFull fills the registry's filesystem — a 16 MiB tmpfs where the
// machine allows mounting — and, everywhere, runs the same scenario with
// ENOSPC injected under the store. The client gets 507 with an OCI error
// body, the log says why, what was stored before stays intact, and pushes
// work again once space is back.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	t.Run("tmpfs", func(t *testing.T) {
		root := t.TempDir()
		if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", root).Run(); err != nil {
			t.Skipf("mounting a tmpfs is not permitted here (%v): the injected case covers it", err)
		}
		t.Cleanup(func() { exec.Command("umount", root).Run() })
		diskFull(t, root, true)
	})
	t.Run("injected", func(t *testing.T) { diskFull(t, t.TempDir(), false) })
}

func diskFull(t *testing.T, root string, mounted bool) {
	var full atomic.Bool
	opts := storage.Options{}
	if !mounted {
		opts.WriteFault = func() error {
			if full.Load() {
				return syscall.ENOSPC
			}
			return nil
		}
	}
	store, err := storage.Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(t, registrytest.Options{Root: root, Store: store, LogLevel: "info"})
	ts, logs := reg.Server, reg.Logs

	push := func(data []byte) *http.Response {
		d := digest.FromBytes(data)
		resp, err := http.Post(ts.URL+"/v2/lab/full/blobs/uploads/?digest="+d.String(), "application/octet-stream", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := registrytest.RandomBytes(t, 1<<20)
	if resp := push(first); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first push: %d", resp.StatusCode)
	}
	var pushed []digest.Digest
	var failed *http.Response
	for i := 0; i < 64 && failed == nil; i++ { // 64 MiB: more than the filesystem holds
		if !mounted && i == 4 {
			full.Store(true)
		}
		data := registrytest.RandomBytes(t, 1<<20)
		resp := push(data)
		if resp.StatusCode == http.StatusCreated {
			pushed = append(pushed, digest.FromBytes(data))
			resp.Body.Close()
			continue
		}
		failed = resp
	}
	if failed == nil {
		t.Fatal("64 MiB pushed and the disk never filled")
	}
	body, _ := io.ReadAll(failed.Body)
	failed.Body.Close()
	var env struct {
		Errors []struct{ Code, Message string }
	}
	if failed.StatusCode != http.StatusInsufficientStorage || json.Unmarshal(body, &env) != nil || len(env.Errors) != 1 ||
		env.Errors[0].Code == "" || !strings.Contains(env.Errors[0].Message, "full") {
		t.Fatalf("disk full answered %d %s; want 507 with an OCI error saying the storage is full", failed.StatusCode, body)
	}
	logged := logs.String()
	if !strings.Contains(logged, "no space left on device") {
		t.Errorf("the log does not say why:\n%s", logged)
	}
	t.Logf("disk full after %d MiB; answered %d", len(pushed)+1, failed.StatusCode)

	// What was stored before is intact, and nothing half-written is left.
	resp, err := http.Get(ts.URL + "/v2/lab/full/blobs/" + digest.FromBytes(first).String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if sha256.Sum256(got) != sha256.Sum256(first) {
		t.Fatal("a blob stored before the disk filled was damaged")
	}
	if left := registrytest.TempFiles(t, root); len(left) != 0 {
		t.Errorf("temp files left after the failed push: %v", left)
	}

	// Space comes back: delete what the loop pushed and collect.
	for _, d := range pushed {
		req, _ := http.NewRequest("DELETE", ts.URL+"/v2/lab/full/blobs/"+d.String(), nil)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delete %s: %v %v", d, err, resp)
		}
	}
	if _, err := store.GC(t.Context(), storage.GCOptions{}); err != nil {
		t.Fatal(err)
	}
	full.Store(false)
	if resp := push(registrytest.RandomBytes(t, 1<<20)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("push after space came back: %d", resp.StatusCode)
	}
}

// TestReadOnlyOrForbiddenStorage: a filesystem remounted read-only or a
// permission error answers 503 with an OCI error saying so; nothing stored
// is touched and writes work again when the fault clears.
func TestReadOnlyOrForbiddenStorage(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{syscall.EROFS, syscall.EACCES} {
		t.Run(errno.Error(), func(t *testing.T) {
			var broken atomic.Bool
			root := t.TempDir()
			store, err := storage.Open(root, storage.Options{WriteFault: func() error {
				if broken.Load() {
					return errno
				}
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			ts := registrytest.New(t, registrytest.Options{Root: root, Store: store})
			push := func() int {
				data := registrytest.RandomBytes(t, 4096)
				resp, err := http.Post(ts.URL+"/v2/lab/ro/blobs/uploads/?digest="+digest.FromBytes(data).String(), "", bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && !strings.Contains(string(body), "cannot write to its storage") {
					t.Errorf("503 without saying why: %s", body)
				}
				return resp.StatusCode
			}
			broken.Store(true)
			if got := push(); got != http.StatusServiceUnavailable {
				t.Fatalf("push with %v: %d, want 503", errno, got)
			}
			if left := registrytest.TempFiles(t, root); len(left) != 0 {
				t.Errorf("temp files left: %v", left)
			}
			broken.Store(false)
			if got := push(); got != http.StatusCreated {
				t.Fatalf("push after the fault cleared: %d", got)
			}
		})
	}
}
