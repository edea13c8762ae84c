package server_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
)

// TestSlowClientIsCutOff: a client that trickles its request headers
// slower than the header timeout is disconnected.
func TestSlowClientIsCutOff(t *testing.T) {
	cfg := config.Defaults()
	cfg.Root = t.TempDir()
	cfg.HeaderTimeout = 300 * time.Millisecond
	addr := serveReal(t, cfg)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	request := "GET /v2/ HTTP/1.1\r\nHost: registry\r\nX-Slow: " + string(make([]byte, 0)) + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
	cut := false
	for i := 0; i < len(request); i++ { // one byte every 50 ms: 2 s for the whole header
		if _, err := conn.Write([]byte{request[i]}); err != nil {
			cut = true
			break
		}
		time.Sleep(50 * time.Millisecond)
		if time.Since(start) > 5*time.Second {
			break
		}
	}
	if !cut { // the server may close without the client noticing a write error
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(conn)
		cut = err == nil && len(b) == 0 || err != nil && !isTimeout(err)
		if len(b) > 0 && string(b[:12]) == "HTTP/1.1 200" {
			t.Fatal("the slow request was served")
		}
	}
	if !cut {
		t.Fatal("a client trickling its headers was never cut off")
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("cut off only after %s", elapsed)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// serveReal runs the server on a real listener, as `registry serve` does
// (timeouts, TLS), until the test ends; it returns the address.
func serveReal(t *testing.T, cfg config.Config) string {
	t.Helper()
	addr, _ := serveRealLogged(t, cfg)
	return addr
}

// serveRealLogged is serveReal keeping the JSON log, info level.
func serveRealLogged(t *testing.T, cfg config.Config) (string, *registrytest.LogBuffer) {
	t.Helper()
	srv, logs := registrytest.NewServer(t, cfg, registrytest.Options{LogLevel: "info"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String(), logs
}
