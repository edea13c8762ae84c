package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The process tests (here, crash_test.go, hostile_test.go) run the real
// binary one at a time, not in parallel: each leans on timing (a kill
// mid-push, a signal mid-upload) or loads the machine on purpose.

// built is the registry binary the process tests run, built once.
var built struct {
	once      sync.Once
	dir, path string
	err       error
}

// TestMain removes the binary the tests built. The gc and du the tests
// run in this process keep its priority (REGISTRY_PRIORITY=normal):
// lowered, it could not be raised again.
func TestMain(m *testing.M) {
	os.Setenv("REGISTRY_PRIORITY", "normal")
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBinary builds the registry once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "registry-test"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "registry")
		cmd := exec.Command("go", "build", "-o", built.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// listensOn reports whether process pid holds the listening socket of addr
// (an IPv4 HOST:PORT): it finds the socket's inode in /proc/net/tcp and
// looks for it among the process's file descriptors.
func listensOn(pid int, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	inode := ""
	for _, line := range strings.Split(string(table), "\n")[1:] {
		f := strings.Fields(line)
		// f[1] is local address:port in hex, f[3] the state (0A: LISTEN), f[9] the inode.
		if len(f) > 9 && f[3] == "0A" && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", p)) {
			inode = f[9]
		}
	}
	if inode == "" {
		return false
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && target == "socket:["+inode+"]" {
			return true
		}
	}
	return false
}

// startRegistry runs the binary on a new root, stopped when the test ends.
func startRegistry(t *testing.T, bin string) (*exec.Cmd, string) {
	t.Helper()
	cmd, addr := serveOn(t, bin, t.TempDir())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, addr
}

// peakRSS reads the process's high-water mark of resident memory, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// patternTable is a MiB of scattered bytes patternReader rotates.
var patternTable = func() []byte {
	b := make([]byte, patternBlock)
	for i := range b {
		b[i] = byte(uint32(i) * 0x9e3779b1 >> 24)
	}
	return b
}()

const patternBlock = 1 << 20

// patternReader yields n bytes of a cheap, non-repeating pattern: MiB k
// is the table rotated by 977·k bytes (every MiB differs from the others).
// It copies rather than computes byte by byte, which the race detector
// would slow to a crawl over a GiB.
type patternReader struct{ n, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n-p.off {
		b = b[:p.n-p.off]
	}
	for n := 0; n < len(b); {
		x := p.off + int64(n)
		i := (x + x/patternBlock*977) % patternBlock
		k := copy(b[n:min(len(b), n+int(patternBlock-x%patternBlock))], patternTable[i:])
		n += k
	}
	p.off += int64(len(b))
	return len(b), nil
}

// TestLargeBlobMemoryStaysFlat pushes a 1 GiB blob, monolithic, and checks
// the registry never held it in memory.
func TestLargeBlobMemoryStaysFlat(t *testing.T) {
	const size = 1 << 30
	h := sha256.New()
	io.Copy(h, &patternReader{n: size})
	digest := fmt.Sprintf("sha256:%x", h.Sum(nil))

	bin := buildBinary(t)
	cmd, addr := startRegistry(t, bin)
	req, _ := http.NewRequest("POST", "http://"+addr+"/v2/big/blob/blobs/uploads/?digest="+digest, &patternReader{n: size})
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	resp, err = http.Get("http://" + addr + "/v2/big/blob/blobs/" + digest)
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != size || fmt.Sprintf("sha256:%x", h.Sum(nil)) != digest {
		t.Fatalf("pull: %d bytes, err %v", n, err)
	}
	peak := peakRSS(t, cmd.Process.Pid)
	t.Logf("peak resident memory after a 1 GiB push and pull: %.1f MiB", float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Fatalf("peak resident memory %d MiB, want under 64 MiB", peak>>20)
	}
}

// slowBody sends half its bytes, then waits for a signal to send the rest.
type slowBody struct {
	first, rest []byte
	gate        chan struct{}
	sentFirst   chan struct{}
}

func (s *slowBody) Read(b []byte) (int, error) {
	if len(s.first) > 0 {
		n := copy(b, s.first)
		s.first = s.first[n:]
		if len(s.first) == 0 {
			close(s.sentFirst)
		}
		return n, nil
	}
	if s.gate != nil {
		<-s.gate
		s.gate = nil
	}
	if len(s.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(b, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

// TestGracefulShutdownFinishesInFlight sends SIGTERM in the middle of an
// upload: the upload completes, then the process exits cleanly.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	bin := buildBinary(t)
	cmd, addr := startRegistry(t, bin)
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	body := &slowBody{first: data[:len(data)/2], rest: data[len(data)/2:], gate: make(chan struct{}), sentFirst: make(chan struct{})}
	req, _ := http.NewRequest("POST", "http://"+addr+"/v2/lab/shutdown/blobs/uploads/?digest="+digest, body)
	req.ContentLength = int64(len(data))
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	<-body.sentFirst
	time.Sleep(100 * time.Millisecond) // the request is now in the handler
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	close(body.gate)
	resp := <-done
	if resp == nil {
		t.Fatal("no response")
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight upload ended with %d, want 201", resp.StatusCode)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("registry did not exit after SIGTERM")
	}
}
