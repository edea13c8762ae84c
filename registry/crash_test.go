package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/filesystem"
)

// serveOn starts the binary on a fixed root and waits until it answers.
func serveOn(t *testing.T, bin, root string) (*exec.Cmd, string) {
	t.Helper()
	return serveWith(t, bin, nil, nil, "--root", root)
}

// serveWith starts the binary with the given storage arguments, extra
// environment and log destination (nil: discarded), and waits until it
// answers.
func serveWith(t *testing.T, bin string, env []string, logs io.Writer, args ...string) (*exec.Cmd, string) {
	t.Helper()
	addr := freeAddr(t)
	level := "error"
	if logs != nil {
		level = "info"
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-level", level}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr, cmd.Stdout = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			// Another process may have taken the port between freeAddr and
			// the start: only our own process listening there will do.
			if listensOn(cmd.Process.Pid, addr) {
				return cmd, addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatal("registry did not start")
	return nil, ""
}

type ackedImage struct {
	repo string
	img  v1.Image
}

// openUpload is a chunked upload the registry acknowledged up to size.
type openUpload struct {
	location string
	data     []byte
	acked    int
}

// TestCrashSafety SIGKILLs the real binary at random moments while clients
// push large and small images and chunked uploads, 50 times, and checks
// after each restart that every acknowledged push is intact byte for byte,
// that no partial object is served, and that interrupted uploads are
// resumable or cleanly unknown.
func TestCrashSafety(t *testing.T) {
	bin := buildBinary(t)
	root := t.TempDir()
	serve := func() (*exec.Cmd, string) { return serveOn(t, bin, root) }
	cmd, addr := crashLoop(t, 50, serve)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	d, err := filesystem.New(root, filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	verifyNoPartialObjects(t, addr, d)

	// What the crashes left behind is cleaned up.
	cmd.Process.Kill()
	cmd.Wait()
	store, err := storage.Open(root, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CleanUploads(t.Context(), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"tmp", "uploads"} {
		if entries, _ := os.ReadDir(filepath.Join(root, dir)); len(entries) != 0 {
			t.Errorf("%d entries left in %s after cleaning", len(entries), dir)
		}
	}
}

// crashLoop starts a registry with serve, has clients push while it is
// SIGKILLed at a random moment, cycles times, then starts it once more,
// checks that every acknowledged image pulls whole and that interrupted
// uploads resume or are cleanly unknown, and returns the running registry.
func crashLoop(t *testing.T, cycles int, serve func() (*exec.Cmd, string)) (*exec.Cmd, string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	var acked []ackedImage
	var uploads []*openUpload
	kills, resumed := 0, 0
	// Kills land at random within the time four pushes take: measured in
	// the first cycle, which lets them finish (a loaded machine pushes
	// slower, and kills timed for an idle one would all come too early).
	// A cycle whose kill came before any push was acknowledged widens the
	// window by half: a restarted registry's first pushes may be slower than
	// the first cycle's (on S3, its first requests to the bucket).
	window, ackedFirst := 250*time.Millisecond, 0
	for cycle := 0; cycle < cycles; cycle++ {
		ackedBefore := len(acked)
		// Images are made before the registry starts, so the kill lands
		// while bytes move, not while the client computes.
		imgs := make([]v1.Image, 4)
		for w := range imgs {
			size := int64(16 << 10)
			if w == 0 {
				size = 1 << 20 // a large image next to small ones
			}
			imgs[w], _ = random.Image(size, 2)
			imgs[w].Digest()
		}
		cmd, addr := serve()
		if cycle > 0 {
			resumed += verifyUploads(t, addr, uploads)
		}
		uploads = uploads[:0]
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				img := imgs[w]
				repo := fmt.Sprintf("crash/c%d-w%d", cycle, w)
				ref, _ := name.ParseReference(addr+"/"+repo+":1", name.Insecure)
				if remote.Write(ref, img, remote.WithTransport(noRetry()), remote.WithRetryPredicate(func(error) bool { return false })) == nil {
					mu.Lock()
					acked = append(acked, ackedImage{repo, img})
					mu.Unlock()
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if u := chunkedUpload(addr, 256<<10, 32<<10); u != nil {
				mu.Lock()
				uploads = append(uploads, u)
				mu.Unlock()
			}
		}()
		if cycle == 0 {
			start := time.Now()
			wg.Wait()
			window = max(window, time.Since(start))
			ackedFirst = len(acked)
		} else {
			time.Sleep(10*time.Millisecond + time.Duration(rng.Int64N(int64(window))))
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++
		wg.Wait()
		if cycle > 0 && len(acked) == ackedBefore {
			window += window / 2
		}
	}
	cmd, addr := serve()
	resumed += verifyUploads(t, addr, uploads)
	t.Logf("%d kills (within %s), %d acknowledged pushes, %d interrupted uploads resumed after restart",
		kills, window.Round(time.Millisecond), len(acked), resumed)
	if len(acked) == ackedFirst {
		t.Error("no push was acknowledged once kills came mid-push: the kills came too early to test anything")
	}
	verifyAcked(t, addr, acked)
	return cmd, addr
}

// verifyAcked pulls every acknowledged image by digest and validates it
// (every blob's digest and size checked against its bytes).
func verifyAcked(t *testing.T, addr string, acked []ackedImage) {
	t.Helper()
	for _, a := range acked {
		d, _ := a.img.Digest()
		ref, _ := name.NewDigest(addr+"/"+a.repo+"@"+d.String(), name.Insecure)
		got, err := remote.Image(ref)
		if err == nil {
			err = validate.Image(got)
		}
		if err != nil {
			t.Errorf("%s@%s was acknowledged and is now broken: %v", a.repo, d, err)
		}
	}
}

// noRetry keeps the client from retrying into the next registry process.
func noRetry() http.RoundTripper {
	return &http.Transport{DisableKeepAlives: true}
}

// chunkedUpload opens a session and sends chunks until the registry dies
// or the blob is done; it returns what was acknowledged.
func chunkedUpload(addr string, size, chunk int) *openUpload {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*31 + size)
	}
	resp, err := http.Post("http://"+addr+"/v2/crash/chunked/blobs/uploads/", "", nil)
	if err != nil {
		return nil
	}
	resp.Body.Close()
	u := &openUpload{location: resp.Header.Get("Location"), data: data}
	for u.acked < size {
		end := min(u.acked+chunk, size)
		req, _ := http.NewRequest("PATCH", "http://"+addr+u.location, bytes.NewReader(data[u.acked:end]))
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", u.acked, end-1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return u
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return u
		}
		u.acked = end
		time.Sleep(2 * time.Millisecond)
	}
	return u
}

// verifyUploads checks each interrupted upload after a restart: either the
// session is gone (404 BLOB_UPLOAD_UNKNOWN) or it answers with a Range
// covering at least what was acknowledged, and finishing it from there
// gives the right blob.
func verifyUploads(t *testing.T, addr string, uploads []*openUpload) (resumed int) {
	t.Helper()
	for _, u := range uploads {
		resp, err := http.Get("http://" + addr + u.location)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			continue
		}
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("upload status after restart: %d", resp.StatusCode)
		}
		_, end, _ := strings.Cut(resp.Header.Get("Range"), "-")
		last, err := strconv.Atoi(end)
		if err != nil {
			t.Fatalf("Range %q", resp.Header.Get("Range"))
		}
		have := last + 1
		if u.acked == 0 && last == 0 {
			have = 0 // "0-0": nothing yet, or one byte; the PUT below tells
		}
		if have < u.acked || have > len(u.data) {
			t.Fatalf("upload resumed at %d bytes, %d were acknowledged", have, u.acked)
		}
		sum := sha256.Sum256(u.data)
		d := "sha256:" + hex.EncodeToString(sum[:])
		req, _ := http.NewRequest("PUT", "http://"+addr+u.location+"?digest="+d, bytes.NewReader(u.data[have:]))
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", have, len(u.data)-1))
		if have == len(u.data) {
			req, _ = http.NewRequest("PUT", "http://"+addr+u.location+"?digest="+d, nil)
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("finishing a resumed upload from byte %d: %d", have, resp.StatusCode)
		}
		resumed++
	}
	return resumed
}

// verifyNoPartialObjects reads back every blob the store holds (through
// its driver: files on disk, objects in a bucket) and checks its bytes
// against its digest, and checks every tag leads to a manifest the
// registry serves whole.
func verifyNoPartialObjects(t *testing.T, addr string, d driver.Driver) {
	t.Helper()
	ctx := t.Context()
	blobs := 0
	err := d.List(ctx, "blobs/sha256/", driver.ListOptions{Recursive: true}, func(e driver.Entry) error {
		r, err := d.Open(ctx, e.Key)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return err
		}
		if hex.EncodeToString(h.Sum(nil)) != path.Base(e.Key) {
			t.Errorf("blob %s holds bytes of another digest: a torn write", e.Key)
		}
		blobs++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tags := 0
	err = d.List(ctx, "repositories/", driver.ListOptions{Recursive: true}, func(e driver.Entry) error {
		repo, tag, ok := strings.Cut(strings.TrimPrefix(e.Key, "repositories/"), "/_manifests/tags/")
		if !ok {
			return nil
		}
		resp, err := http.Get("http://" + addr + "/v2/" + repo + "/manifests/" + tag)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Errorf("tag %s:%s: %d, digest header %s does not match the bytes", repo, tag, resp.StatusCode, resp.Header.Get("Docker-Content-Digest"))
		}
		tags++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d blobs read back and hashed, %d tags followed", blobs, tags)
	if blobs == 0 {
		t.Error("no blob to verify")
	}
}
