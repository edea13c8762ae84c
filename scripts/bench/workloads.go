package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// sizes of one run; -quick shrinks them.
type sizes struct {
	bigBlob    int64         // a), b)
	chunk      int64         // a) chunked
	smallCount int           // c)
	loadFor    time.Duration // d)
	fanBlob    int64         // e)
	fanClients int           // e)
}

var client = &http.Client{Transport: &http.Transport{
	MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true, IdleConnTimeout: time.Minute,
}}

// payload is a file of random bytes and its digest.
type payload struct {
	path   string
	size   int64
	digest string
}

func makePayload(dir string, size int64) payload {
	f, err := os.CreateTemp(dir, "payload-")
	if err != nil {
		fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var seed uint64 = 0x9e3779b97f4a7c15 ^ uint64(size)
	for written := int64(0); written < size; {
		for i := 0; i+8 <= len(buf); i += 8 { // xorshift: incompressible, fast
			seed ^= seed << 13
			seed ^= seed >> 7
			seed ^= seed << 17
			for j := 0; j < 8; j++ {
				buf[i+j] = byte(seed >> (8 * j))
			}
		}
		n := min(int64(len(buf)), size-written)
		f.Write(buf[:n])
		h.Write(buf[:n])
		written += n
	}
	return payload{path: f.Name(), size: size, digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}
}

func mibps(bytes int64, d time.Duration) float64 { return float64(bytes) / (1 << 20) / d.Seconds() }

func do(req *http.Request, want int) *http.Response {
	resp, err := client.Do(req)
	if err != nil {
		fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		fatal(fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL, resp.StatusCode, want))
	}
	return resp
}

// next resolves an upload Location against the registry's address.
func next(base string, resp *http.Response) string {
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		fatal(err)
	}
	b, _ := url.Parse(base)
	return b.ResolveReference(loc).String()
}

// pushMonolithic: a session, then the whole blob in the closing PUT (the
// monolithic upload every registry supports).
func pushMonolithic(addr string, p payload) time.Duration {
	start := time.Now()
	putWhole(addr, "bench/big", p)
	return time.Since(start)
}

func putWhole(addr, repo string, p payload) {
	f, _ := os.Open(p.path)
	defer f.Close()
	base := "http://" + addr
	req, _ := http.NewRequest("POST", base+"/v2/"+repo+"/blobs/uploads/", nil)
	loc := next(base, do(req, http.StatusAccepted))
	// The body is read like a client streaming a layer reads it; handing
	// net/http the *os.File itself would make it sendfile the payload,
	// which no registry client does.
	req, _ = http.NewRequest("PUT", withDigest(loc, p.digest), io.NopCloser(struct{ io.Reader }{f}))
	req.ContentLength = p.size
	req.Header.Set("Content-Type", "application/octet-stream")
	do(req, http.StatusCreated)
}

// pushChunked: a session, PATCHes of chunk bytes with Content-Range, PUT.
func pushChunked(addr string, p payload, chunk int64) time.Duration {
	f, _ := os.Open(p.path)
	defer f.Close()
	base := "http://" + addr
	start := time.Now()
	req, _ := http.NewRequest("POST", base+"/v2/bench/big/blobs/uploads/", nil)
	loc := next(base, do(req, http.StatusAccepted))
	for off := int64(0); off < p.size; off += chunk {
		n := min(chunk, p.size-off)
		req, _ := http.NewRequest("PATCH", loc, io.NewSectionReader(f, off, n))
		req.ContentLength = n
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
		loc = next(base, do(req, http.StatusAccepted))
	}
	req, _ = http.NewRequest("PUT", withDigest(loc, p.digest), nil)
	do(req, http.StatusCreated)
	return time.Since(start)
}

// pushStreamed: a session, one PATCH of unknown length, PUT.
func pushStreamed(addr string, p payload) time.Duration {
	f, _ := os.Open(p.path)
	defer f.Close()
	base := "http://" + addr
	start := time.Now()
	req, _ := http.NewRequest("POST", base+"/v2/bench/big/blobs/uploads/", nil)
	loc := next(base, do(req, http.StatusAccepted))
	req, _ = http.NewRequest("PATCH", loc, io.NopCloser(f)) // no length: chunked transfer
	req.Header.Set("Content-Type", "application/octet-stream")
	loc = next(base, do(req, http.StatusAccepted))
	req, _ = http.NewRequest("PUT", withDigest(loc, p.digest), nil)
	do(req, http.StatusCreated)
	return time.Since(start)
}

func withDigest(loc, d string) string {
	if strings.Contains(loc, "?") {
		return loc + "&digest=" + url.QueryEscape(d)
	}
	return loc + "?digest=" + url.QueryEscape(d)
}

// pull reads a blob, verifying its digest when verify is set.
func pull(addr, repo string, p payload, verify bool) time.Duration {
	start := time.Now()
	resp, err := client.Get("http://" + addr + "/v2/" + repo + "/blobs/" + p.digest)
	if err != nil {
		fatal(err)
	}
	var w io.Writer = io.Discard
	h := sha256.New()
	if verify {
		w = h
	}
	n, err := io.Copy(w, resp.Body)
	resp.Body.Close()
	if err != nil || n != p.size {
		fatal(fmt.Errorf("pull: %d bytes, %v", n, err))
	}
	if verify && "sha256:"+hex.EncodeToString(h.Sum(nil)) != p.digest {
		fatal(fmt.Errorf("pull: digest mismatch"))
	}
	return time.Since(start)
}

func ref(addr, s string) name.Reference {
	r, err := name.ParseReference(addr+"/"+s, name.Insecure)
	if err != nil {
		fatal(err)
	}
	return r
}

var noRetry = remote.WithRetryPredicate(func(error) bool { return false })

// pushSmall pushes the images from clients concurrent clients: the time it took.
func pushSmall(addr string, imgs []v1.Image, clients int) time.Duration {
	work := make(chan int, len(imgs))
	for i := range imgs {
		work <- i
	}
	close(work)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := remote.Write(ref(addr, fmt.Sprintf("bench/small%d:1", i)), imgs[i], remote.WithTransport(client.Transport), noRetry); err != nil {
					fatal(err)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// load hits one manifest by tag from clients clients for d: req/s, p50, p99 (ms).
func load(addr, method string, clients int, d time.Duration) (rps, p50, p99 float64) {
	url := "http://" + addr + "/v2/bench/manifests/manifests/latest"
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(method, url, nil)
			req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fatal(fmt.Errorf("%s manifest: %d", method, resp.StatusCode))
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000 }
	return float64(len(all)) / elapsed.Seconds(), ms(0.5), ms(0.99)
}

// fanOut pulls one blob from clients clients at once: aggregate MiB/s.
func fanOut(addr string, p payload, clients int) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() { defer wg.Done(); pull(addr, "bench/fan", p, false) }()
	}
	wg.Wait()
	return mibps(p.size*int64(clients), time.Since(start))
}

// mountAndRepush: push an image whose layers live in another repository
// (the client mounts them), then push the unchanged image again: ms each,
// the median of mountRepeats tries (one try takes about a millisecond, too
// short to time alone).
func mountAndRepush(addr string, img v1.Image) (mountMS, repushMS float64) {
	if err := remote.Write(ref(addr, "bench/src:1"), img, remote.WithTransport(client.Transport)); err != nil {
		fatal(err)
	}
	src, err := remote.Image(ref(addr, "bench/src:1"), remote.WithTransport(client.Transport))
	if err != nil {
		fatal(err)
	}
	timed := func(repo string, img v1.Image) float64 {
		start := time.Now()
		if err := remote.Write(ref(addr, repo), img, remote.WithTransport(client.Transport)); err != nil {
			fatal(err)
		}
		return float64(time.Since(start).Microseconds()) / 1000
	}
	var mounts, repushes []float64
	for i := 0; i < mountRepeats; i++ {
		repo := fmt.Sprintf("bench/dst%d:1", i)
		mounts = append(mounts, timed(repo, src))
		repushes = append(repushes, timed(repo, img))
	}
	return median(mounts), median(repushes)
}

const mountRepeats = 15

func smallImages(n int) []v1.Image {
	out := make([]v1.Image, n)
	for i := range out {
		img, err := random.Image(64<<10, 3)
		if err != nil {
			fatal(err)
		}
		img.Digest() // computed now, not while timing
		out[i] = img
	}
	return out
}

// pushBlob stores a payload in a repository (setup, untimed).
func pushBlob(addr, repo string, p payload) { putWhole(addr, repo, p) }

// pushManifestImage stores a small image tagged latest (setup, untimed).
func pushManifestImage(addr string) {
	img, _ := random.Image(1024, 2)
	if err := remote.Write(ref(addr, "bench/manifests:latest"), img, remote.WithTransport(client.Transport)); err != nil {
		fatal(err)
	}
}
