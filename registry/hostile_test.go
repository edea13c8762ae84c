package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"
)

// hostileServer starts the binary with everything an attacker meets on:
// Basic users, access rules, the token issuer, a debug listener for the
// metrics, and a minimum transfer rate averaged over 2 s (so slow bodies
// are cut off within the test). It returns the process, the address, the
// debug address and a push token for alice on lab/load.
func hostileServer(t *testing.T, bin string) (*exec.Cmd, string, string, string) {
	t.Helper()
	dir := t.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("alice-pw"), bcrypt.DefaultCost)
	os.WriteFile(filepath.Join(dir, "htpasswd"), []byte("alice:"+string(hash)+"\n"), 0o600)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "token.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	addr, debug := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--root", filepath.Join(dir, "root"), "--log-format", "json",
		"--auth-htpasswd", filepath.Join(dir, "htpasswd"), "--auth-rules", "alice=push:lab/*,pull:*",
		"--auth-token-signing-key", filepath.Join(dir, "token.key"), "--debug-addr", debug,
		"--min-transfer-rate", "1024", "--transfer-window", "2s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			break
		}
		if i == 300 {
			t.Fatal("registry did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/auth/token?service=layerlab&scope=repository:lab/load:pull,push", nil)
	req.SetBasicAuth("alice", "alice-pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.Token == "" {
		t.Fatalf("no token for alice: %d", resp.StatusCode)
	}
	return cmd, addr, debug, tok.Token
}

// TestHostileLoad sends 20,000 hostile requests of every kind the registry
// has been attacked with — made-up methods of 30 KB, 100 KB headers, bogus
// and traversing paths, huge token forms, wrong passwords, forged tokens,
// bodies that trickle, bad ranges, bad manifests — from 32 clients, and
// checks the server's peak memory stays under 64 MiB, /metrics under
// 1 MiB, no request gets a 5xx, and a real client is still served.
func TestHostileLoad(t *testing.T) {
	bin := buildBinary(t)
	cmd, addr, debug, token := hostileServer(t, bin)
	base := "http://" + addr
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 20 * time.Second}
	authz := func(r *http.Request) *http.Request { r.Header.Set("Authorization", "Bearer "+token); return r }
	do := func(r *http.Request) (int, error) {
		resp, err := client.Do(r)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	// What the well-formed hostile requests aim at: a session and a blob.
	blob := strings.Repeat("x", 4096)
	blobDigest := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(blob)))
	if st, err := do(authz(mustRequest(http.NewRequest("POST", base+"/v2/lab/load/blobs/uploads/?digest="+blobDigest, strings.NewReader(blob))))); st != 201 {
		t.Fatalf("push a blob: %d %v", st, err)
	}
	resp, err := client.Do(authz(mustRequest(http.NewRequest("POST", base+"/v2/lab/load/blobs/uploads/", nil))))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("start a session: %v", err)
	}
	resp.Body.Close()
	session := base + resp.Header.Get("Location")

	parts := strings.Split(token, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[3] ^= 0x40
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	bigForm := "grant_type=password&username=alice&password=x" + strings.Repeat("&scope=repository:lab/a:pull,push", 8000)

	kinds := []struct {
		name  string
		count int
		req   func(i int) *http.Request
	}{
		{"made-up 30 KB methods", 1000, func(i int) *http.Request {
			return mustRequest(http.NewRequest(fmt.Sprintf("M%d%s", i, strings.Repeat("X", 30000)), base+"/v2/", nil))
		}},
		{"100 KB headers", 500, func(i int) *http.Request {
			r := mustRequest(http.NewRequest("GET", base+"/v2/", nil))
			r.Header.Set("X-Junk", strings.Repeat("h", 100000))
			return r
		}},
		{"bogus paths", 3000, func(i int) *http.Request {
			paths := []string{"/v2/%d/blobs/nope", "/v2/lab/load/manifests/%d!!", "/nowhere/%d", "/v2/_catalog?n=-%d", "/v2/lab/load/tags/list?n=%dx", "/api/%d"}
			return mustRequest(http.NewRequest("GET", base+fmt.Sprintf(paths[i%len(paths)], i), nil))
		}},
		{"traversal", 2000, func(i int) *http.Request {
			paths := []string{"/v2/../../etc/passwd/manifests/latest", "/v2/lab/%2e%2e/%2e%2e/x/blobs/sha256:00", "/v2/lab/..%2f..%2fetc/tags/list", "/v2/lab/load/blobs/uploads/..%2f..%2f..%2ftmp", "/v2/lab//load/manifests/..", "/v2/lab/load/manifests/%2e%2e%2f%2e%2e%2fgc.lock"}
			r := mustRequest(http.NewRequest("GET", base+"/v2/", nil))
			r.URL = &url.URL{Scheme: "http", Host: addr, Opaque: paths[i%len(paths)]}
			return authz(r)
		}},
		{"huge token forms", 100, func(i int) *http.Request {
			r := mustRequest(http.NewRequest("POST", base+"/auth/token", strings.NewReader(bigForm)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{"too many scopes", 400, func(i int) *http.Request {
			return mustRequest(http.NewRequest("GET", base+"/auth/token?service=layerlab"+strings.Repeat("&scope=repository:lab/a:pull", 40), nil))
		}},
		{"wrong passwords", 400, func(i int) *http.Request {
			r := mustRequest(http.NewRequest("GET", base+"/auth/token?service=layerlab", nil))
			user := "alice"
			if i%8 == 0 {
				user = fmt.Sprintf("nobody%d", i) // unknown users cost a bcrypt too
			}
			r.SetBasicAuth(user, fmt.Sprintf("guess%d", i))
			return r
		}},
		{"bogus tokens", 3000, func(i int) *http.Request {
			r := mustRequest(http.NewRequest("GET", base+"/v2/lab/load/tags/list", nil))
			bad := []string{"Bearer garbage", "bearer " + forged, "Bearer " + parts[0] + "." + parts[1] + ".", "Bearer eyJhbGciOiJub25lIn0." + parts[1] + ".", "Basic bm9ib2R5Om5vcGU=", "Bearer " + strings.Repeat("A", 8000)}
			r.Header.Set("Authorization", bad[i%len(bad)])
			return r
		}},
		{"bad ranges", 3000, func(i int) *http.Request {
			switch i % 3 {
			case 0:
				r := mustRequest(http.NewRequest("PATCH", session, strings.NewReader("abc")))
				r.Header.Set("Content-Range", []string{"0-9223372036854775807", "bytes=abc", "5-2", "99999999999999999999-1"}[i%4])
				return authz(r)
			case 1:
				r := mustRequest(http.NewRequest("GET", base+"/v2/lab/load/blobs/"+blobDigest, nil))
				r.Header.Set("Range", []string{"bytes=99999999999-", "bytes=5-2", "bytes=-0", "bytes=0-1,2-3,4-5,6-7,8-9,10-11"}[i%4])
				return authz(r)
			}
			r := mustRequest(http.NewRequest("PUT", session+"?digest=sha256:"+strings.Repeat("0", 64), strings.NewReader("x")))
			r.Header.Set("Content-Range", "7-7")
			return authz(r)
		}},
		{"bad manifests", 2000, func(i int) *http.Request {
			bodies := []string{"{", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", `{"schemaVersion":2,"layers":[],"LAYERS":[{}]}`,
				`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:zz"}}`, "\xff\xfe", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)}
			r := mustRequest(http.NewRequest("PUT", base+fmt.Sprintf("/v2/lab/load/manifests/t%d", i%50), strings.NewReader(bodies[i%len(bodies)])))
			r.Header.Set("Content-Type", v1.MediaTypeImageManifest)
			return authz(r)
		}},
		{"unauthenticated pushes", 4600, func(i int) *http.Request {
			return mustRequest(http.NewRequest("POST", base+fmt.Sprintf("/v2/lab/r%d/blobs/uploads/", i%100), nil))
		}},
	}
	var jobs []func() *http.Request
	for _, k := range kinds {
		for i := range k.count {
			jobs = append(jobs, func() *http.Request { return k.req(i) })
		}
	}
	if len(jobs) != 20000 {
		t.Fatalf("%d requests planned", len(jobs))
	}

	// A few slow bodies beside the load: cut off, never served whole.
	var slowWG sync.WaitGroup
	var slowCut atomic.Int64
	for range 5 {
		slowWG.Add(1)
		go func() {
			defer slowWG.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000000\r\n\r\n", strings.TrimPrefix(session, base), token)
			for range 40 { // 100 B every 250 ms: 400 B/s, for at most 10 s
				if _, err := conn.Write([]byte(strings.Repeat("s", 100))); err != nil {
					slowCut.Add(1)
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if b, _ := io.ReadAll(conn); strings.Contains(string(b), " 408 ") {
				slowCut.Add(1)
			}
		}()
	}

	start := time.Now()
	statuses := map[int]int{}
	var mu sync.Mutex
	next := make(chan func() *http.Request)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				st, _ := do(job()) // a refused connection or a cut body is a status 0
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	slowWG.Wait()
	took := time.Since(start)

	peak := peakRSS(t, cmd.Process.Pid)
	resp, err = http.Get("http://" + debug + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("20,000 hostile requests in %s: statuses %v; %d of 5 slow bodies cut off; peak RSS %.1f MiB; /metrics %d bytes",
		took.Round(time.Millisecond), statuses, slowCut.Load(), float64(peak)/(1<<20), len(metrics))
	if peak > 64<<20 {
		t.Errorf("peak resident memory %.1f MiB, want at most 64 MiB", float64(peak)/(1<<20))
	}
	if len(metrics) > 1<<20 {
		t.Errorf("/metrics is %d bytes, want under 1 MiB", len(metrics))
	}
	for st, n := range statuses {
		if st >= 500 {
			t.Errorf("%d requests answered %d", n, st)
		}
	}
	if slowCut.Load() != 5 {
		t.Errorf("%d of 5 slow bodies were cut off", slowCut.Load())
	}
	if st, err := do(authz(mustRequest(http.NewRequest("GET", base+"/v2/lab/load/blobs/"+blobDigest, nil)))); st != 200 {
		t.Errorf("a real pull after the load: %d %v", st, err)
	}
}

// mustRequest is http.NewRequest for requests built from constants.
func mustRequest(r *http.Request, err error) *http.Request {
	if err != nil {
		panic(err)
	}
	return r
}
