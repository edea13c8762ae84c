package server_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/layerlab/layerlab/registry/config"
)

// rawRequest sends head (request line and headers, without the blank
// line) and body on a new connection, then reads the response; half
// closes the sending side after the body when done is "close-write", or
// the whole connection when "close" (then there is no response).
func rawRequest(t *testing.T, addr, head, body, done string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s\r\nHost: registry\r\n\r\n%s", head, body)
	switch done {
	case "close":
		conn.Close()
		return nil, ""
	case "close-write":
		conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", head, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// startSession opens an upload session and returns its path.
func startSession(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/v2/lab/body/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func sessionRange(t *testing.T, addr, loc string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("session %s after the failed chunk: %d", loc, resp.StatusCode)
	}
	return resp.Header.Get("Range")
}

// TestBrokenBodiesAreClientErrors: a body shorter than its Content-Length,
// broken chunked encoding, and a client that goes away mid-body are
// answered 400 with the fitting code and logged as a client error
// (warning, not error); the session stays, holding what arrived.
func TestBrokenBodiesAreClientErrors(t *testing.T) {
	cfg := config.Defaults()
	cfg.Root = t.TempDir()
	addr, logs := serveRealLogged(t, cfg)

	for _, c := range []struct {
		what, headers, body, done, code, kept string
	}{
		{"short body", "Content-Length: 1000", strings.Repeat("a", 100), "close-write", "SIZE_INVALID", "0-99"},
		{"bad chunked encoding", "Transfer-Encoding: chunked", "5\r\nhello\r\nzz\r\n", "", "BLOB_UPLOAD_INVALID", "0-4"},
		{"client goes away", "Content-Length: 1000", strings.Repeat("a", 100), "close", "SIZE_INVALID", "0-99"},
	} {
		loc := startSession(t, addr)
		resp, body := rawRequest(t, addr, "PATCH "+loc+" HTTP/1.1\r\n"+c.headers, c.body, c.done)
		if resp != nil {
			var env struct{ Errors []struct{ Code string } }
			json.Unmarshal([]byte(body), &env)
			if resp.StatusCode != http.StatusBadRequest || len(env.Errors) != 1 || env.Errors[0].Code != c.code {
				t.Errorf("%s: %d %s, want 400 %s", c.what, resp.StatusCode, body, c.code)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		var line map[string]any
		for line == nil && time.Now().Before(deadline) {
			for _, l := range logs.Lines(t) {
				if l["msg"] == "request" && l["method"] == "PATCH" && l["path"] == loc {
					line = l
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if line == nil || line["level"] != "warning" || line["status"] != 400.0 || line["error_code"] != c.code {
			t.Errorf("%s: access line %v, want a warning with 400 %s", c.what, line, c.code)
		}
		if got := sessionRange(t, addr, loc); got != c.kept {
			t.Errorf("%s: the session holds %s, want %s (what arrived)", c.what, got, c.kept)
		}
	}
}

// TestSlowBodiesAndReadersAreCutOff: an upload trickling slower than the
// minimum transfer rate is cut off with 408 and its session keeps what
// arrived; one at a rate above it is not; a client that stops reading a
// download is cut off too.
func TestSlowBodiesAndReadersAreCutOff(t *testing.T) {
	cfg := config.Defaults()
	cfg.Root = t.TempDir()
	cfg.MinRate, cfg.RateWindow = 1000, time.Second
	addr, logs := serveRealLogged(t, cfg)

	// trickle returns the response, the code of its OCI error (if any) and
	// how long it took.
	trickle := func(loc string, size, piece int, every time.Duration) (*http.Response, string, time.Duration) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: registry\r\nContent-Length: %d\r\n\r\n", loc, size)
		for sent := 0; sent < size && time.Since(start) < 8*time.Second; sent += piece {
			if _, err := conn.Write([]byte(strings.Repeat("s", piece))); err != nil {
				break
			}
			time.Sleep(every)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		var env struct{ Errors []struct{ Code string } }
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		code := ""
		if len(env.Errors) > 0 {
			code = env.Errors[0].Code
		}
		return resp, code, time.Since(start)
	}

	slow := startSession(t, addr)
	resp, code, took := trickle(slow, 100000, 50, 250*time.Millisecond) // 200 B/s
	if resp.StatusCode != http.StatusRequestTimeout || code != "BLOB_UPLOAD_INVALID" || !resp.Close || took > 6*time.Second {
		t.Errorf("an upload at 200 B/s (minimum 1000 B/s over 1 s): %d %s (Connection: close %v) after %s, want 408 BLOB_UPLOAD_INVALID, the connection closed, within seconds",
			resp.StatusCode, code, resp.Close, took)
	}
	t.Logf("slow upload cut off after %s", took)
	if got := sessionRange(t, addr, slow); got == "0-0" {
		t.Errorf("the cut-off session lost what arrived: Range %s", got)
	}

	fast := startSession(t, addr)
	resp, _, _ = trickle(fast, 6000, 1000, 250*time.Millisecond) // 4000 B/s, for 1.5 s
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("an upload at 4000 B/s: %d, want 202", resp.StatusCode)
	}

	// A download the client stops reading: 32 MiB outgrows every buffer.
	digest := pushBlob(t, addr, 32<<20)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v2/lab/body/blobs/%s HTTP/1.1\r\nHost: registry\r\n\r\n", digest)
	var line map[string]any
	for deadline := time.Now().Add(5 * time.Second); line == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, l := range logs.Lines(t) {
			if l["msg"] == "request" && l["method"] == "GET" && l["route"] == "blob.get" {
				line = l
			}
		}
	}
	if line == nil {
		t.Fatal("a client that stopped reading a 32 MiB blob was not cut off within 5 s")
	}
	if out, _ := line["bytes_out"].(float64); out >= 32<<20 || !strings.Contains(fmt.Sprint(line["error_detail"]), "cut off") {
		t.Errorf("the stalled download: %v", line)
	}
}

// pushBlob uploads size bytes to lab/body in one request; it returns the digest.
func pushBlob(t *testing.T, addr string, size int) string {
	t.Helper()
	data := []byte(strings.Repeat("b", size))
	d := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	resp, err := http.Post("http://"+addr+"/v2/lab/body/blobs/uploads/?digest="+d, "application/octet-stream", strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push blob: %d", resp.StatusCode)
	}
	return d
}
