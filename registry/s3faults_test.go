package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/s3"
)

// The fault tests on S3 run the real binary on a real S3 server named by
// the environment (scripts/s3-test.sh starts SeaweedFS and sets
// LAYERLAB_S3_*), each on a fresh prefix of the bucket.

// TestCrashSafetyS3: SIGKILL during pushes to a registry on S3 loses no
// acknowledged image, and no blob in the bucket holds bytes of another
// digest; what the kills left (sessions, multipart uploads) is cleaned.
func TestCrashSafetyS3(t *testing.T) {
	cfg, newDriver := registrytest.S3Config(t, "crash")
	bin := buildBinary(t)
	args, env := registrytest.S3Args(cfg)
	cmd, addr := crashLoop(t, 15, func() (*exec.Cmd, string) { return serveWith(t, bin, env, nil, args...) })
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	verifyNoPartialObjects(t, addr, newDriver())

	d := newDriver()
	store, err := storage.Open("", storage.Options{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CleanUploads(t.Context(), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	left := 0
	d.List(t.Context(), "uploads/", driver.ListOptions{Recursive: true}, func(driver.Entry) error { left++; return nil })
	if n, err := d.(*s3.Driver).AbortStale(t.Context(), 0); err != nil || n != 0 || left != 0 {
		t.Errorf("after cleaning: %d objects under uploads/, %d incomplete multipart uploads (%v)", left, n, err)
	}
}

// TestS3OutageMidPush: the S3 server stops while clients push: the
// registry answers 503 UNAVAILABLE and logs the endpoint; nothing
// acknowledged is lost or damaged, and pushes work again once the server
// is back (on the same data).
func TestS3OutageMidPush(t *testing.T) {
	server := os.Getenv("LAYERLAB_S3_SERVER")
	cfg, newDriver := registrytest.S3Config(t, "outage")
	if server == "" {
		t.Skip("LAYERLAB_S3_SERVER is not set: the test cannot stop the S3 server (scripts/s3-test.sh sets it)")
	}
	control := func(cmd string) {
		t.Helper()
		out, err := exec.Command("bash", "../scripts/s3-server.sh", cmd, server).CombinedOutput()
		if err != nil {
			t.Fatalf("s3-server.sh %s %s: %v\n%s", cmd, server, err, out)
		}
	}
	bin := buildBinary(t)
	args, env := registrytest.S3Args(cfg)
	logs := &registrytest.LogBuffer{}
	cmd, addr := serveWith(t, bin, env, logs, args...)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	var acked []ackedImage
	var mu sync.Mutex
	var failed atomic.Int32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 400; i++ {
			select {
			case <-stop:
				return
			default:
			}
			img, _ := random.Image(256<<10, 2)
			repo := fmt.Sprintf("outage/p%d", i)
			ref, _ := name.ParseReference(addr+"/"+repo+":1", name.Insecure)
			if err := remote.Write(ref, img, remote.WithTransport(noRetry()), remote.WithRetryPredicate(func(error) bool { return false })); err != nil {
				failed.Add(1)
				continue
			}
			mu.Lock()
			acked = append(acked, ackedImage{repo, img})
			mu.Unlock()
		}
	}()
	for i := 0; ; i++ {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if i > 600 {
			t.Fatal("no push acknowledged in a minute before the outage")
		}
		time.Sleep(100 * time.Millisecond)
	}
	control("pause")
	paused := true
	defer func() {
		if paused {
			control("resume")
		}
	}()

	// Every kind of request answers 503 UNAVAILABLE while the server is down.
	blob := []byte("written while the bucket is down")
	probes := []struct{ method, path string }{
		{"POST", "/v2/outage/probe/blobs/uploads/?digest=" + digest.FromBytes(blob).String()},
		{"POST", "/v2/outage/probe/blobs/uploads/"},
		{"GET", "/v2/outage/p0/manifests/1"},
		{"GET", "/v2/outage/p0/tags/list"},
	}
	for _, p := range probes {
		registrytest.WantError(t, p.method, "http://"+addr+p.path, bytes.NewReader(blob), http.StatusServiceUnavailable, "UNAVAILABLE")
	}
	if resp, err := http.Get("http://" + addr + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with S3 down: %v %v; want 503", resp, err)
	}
	host := strings.TrimPrefix(strings.TrimPrefix(cfg.Endpoint, "http://"), "https://")
	if !hasLogLine(logs.String(), "UNAVAILABLE", host) {
		t.Errorf("no log line names the endpoint %s with the UNAVAILABLE code:\n%s", host, tail(logs.String(), 20))
	}
	time.Sleep(time.Second) // pushes fail meanwhile
	control("resume")
	paused = false
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 600 {
			t.Fatal("the registry is not ready a minute after S3 came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := len(ackedSnapshot(&mu, &acked))
	for i := 0; len(ackedSnapshot(&mu, &acked)) < before+3; i++ {
		if i > 600 {
			t.Fatal("no push acknowledged in a minute after S3 came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	<-done
	if failed.Load() == 0 {
		t.Error("no push failed during the outage: the outage came too late to test anything")
	}
	t.Logf("%d pushes acknowledged, %d failed during the outage", len(acked), failed.Load())
	verifyAcked(t, addr, acked)
	verifyNoPartialObjects(t, addr, newDriver())
}

func ackedSnapshot(mu *sync.Mutex, acked *[]ackedImage) []ackedImage {
	mu.Lock()
	defer mu.Unlock()
	return append([]ackedImage(nil), *acked...)
}

// hasLogLine reports whether one line of the log holds every word.
func hasLogLine(log string, words ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestGCOnS3WhilePushing: two `registry gc` loops collect a bucket (a short
// grace, untagged manifests deleted) while another process pushes images,
// garbage blobs and a tag that keeps moving: every acknowledged image that
// a tag still reaches pulls complete, the collections delete garbage, and
// they never run at once (the second is told another is running).
func TestGCOnS3WhilePushing(t *testing.T) {
	cfg, newDriver := registrytest.S3Config(t, "gcpush")
	bin := buildBinary(t)
	args, env := registrytest.S3Args(cfg)
	cmd, addr := serveWith(t, bin, env, nil, args...)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	var kept []ackedImage // images whose own tag stays
	var moving ackedImage // the last image pushed to gc/moving:latest
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for i := range 40 {
			img, _ := random.Image(64<<10, 2)
			repo := fmt.Sprintf("gc/p%d", i%8)
			tag := fmt.Sprint("t", i)
			if i%2 == 1 {
				repo, tag = "gc/moving", "latest" // the previous one becomes untagged garbage
			}
			ref, _ := name.ParseReference(addr+"/"+repo+":"+tag, name.Insecure)
			if err := remote.Write(ref, img); err != nil {
				t.Errorf("push %d: %v", i, err)
				continue
			}
			if tag == "latest" {
				moving = ackedImage{repo, img}
			} else {
				kept = append(kept, ackedImage{repo, img})
			}
			garbage := registrytest.RandomBytes(t, 32<<10) // a blob no manifest will reference
			post := fmt.Sprintf("http://%s/v2/gc/garbage/blobs/uploads/?digest=%s", addr, digest.FromBytes(garbage))
			if resp, err := http.Post(post, "application/octet-stream", bytes.NewReader(garbage)); err == nil {
				resp.Body.Close()
			}
			time.Sleep(150 * time.Millisecond)
		}
	}()
	gcArgs := append([]string{"gc", "--grace", "1s", "--delete-untagged", "--json"}, args...)
	var deletedBlobs, deletedManifests, busy, runs atomic.Int32
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-pushed:
					return
				default:
				}
				c := exec.Command(bin, gcArgs...)
				c.Env = append(os.Environ(), env...)
				var out, errOut bytes.Buffer
				c.Stdout, c.Stderr = &out, &errOut
				err := c.Run()
				switch {
				case err == nil:
					var res storage.GCResult
					if err := json.Unmarshal(out.Bytes(), &res); err != nil {
						t.Errorf("gc output: %v\n%s", err, out.String())
						return
					}
					runs.Add(1)
					deletedBlobs.Add(int32(len(res.DeletedBlobs)))
					deletedManifests.Add(int32(len(res.DeletedManifests)))
				case c.ProcessState.ExitCode() == 3 && strings.Contains(errOut.String(), "another collection is running"):
					busy.Add(1)
				default:
					t.Errorf("gc: %v\n%s", err, errOut.String())
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d collections deleted %d blobs and %d untagged manifests; %d found another running",
		runs.Load(), deletedBlobs.Load(), deletedManifests.Load(), busy.Load())
	if runs.Load() == 0 || deletedBlobs.Load() == 0 || deletedManifests.Load() == 0 {
		t.Error("the collections deleted nothing: the test tested nothing")
	}
	verifyAcked(t, addr, append(kept, moving))
	verifyNoPartialObjects(t, addr, newDriver())
}
