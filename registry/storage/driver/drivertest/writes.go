package drivertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/layerlab/layerlab/registry/internal/testbytes"
	"github.com/layerlab/layerlab/registry/storage/driver"
)

func testAtomicReplace(t *testing.T, s Suite) {
	d, _ := s.New(t)
	a, b := bytes.Repeat([]byte("a"), 64<<10), bytes.Repeat([]byte("b"), 64<<10+1)
	put(t, d, "tags/latest", a)
	const writes = 40
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := 0; i < writes; i++ {
			v := a
			if i%2 == 0 {
				v = b
			}
			if _, err := d.Put(ctx, "tags/latest", bytes.NewReader(v), driver.PutOptions{}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reads := 0; ; reads++ {
				select {
				case <-done:
					return
				default:
				}
				got, err := d.GetContent(ctx, "tags/latest", 1<<20)
				if err != nil {
					errs <- fmt.Errorf("read during replace: %w", err)
					return
				}
				if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
					errs <- fmt.Errorf("read %d bytes that are neither value", len(got))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := content(t, d, "tags/latest"); !bytes.Equal(got, a) {
		t.Fatalf("last write lost: %d bytes", len(got))
	}
}

func testVerifyRejects(t *testing.T, s Suite) {
	d, _ := s.New(t)
	bad := errors.New("digest mismatch")
	reject := driver.PutOptions{Verify: func(n int64) error {
		if n != 6 {
			return fmt.Errorf("verify saw %d bytes, want 6", n)
		}
		return bad
	}}
	_, err := d.Put(ctx, "blobs/new", strings.NewReader("abcdef"), reject)
	wantErr(t, "rejected put", err, bad)
	_, err = d.Stat(ctx, "blobs/new")
	wantErr(t, "stat of a rejected put", err, driver.ErrNotFound)
	put(t, d, "blobs/old", []byte("old"))
	_, err = d.Put(ctx, "blobs/old", strings.NewReader("abcdef"), reject)
	wantErr(t, "rejected replace", err, bad)
	if got := content(t, d, "blobs/old"); string(got) != "old" {
		t.Fatalf("a rejected replace changed the object to %q", got)
	}
	sameKeys(t, "nothing left behind", list(t, d, "", driver.ListOptions{Recursive: true}), []string{"blobs/old"})
	called := false
	_, err = d.Put(ctx, "blobs/ok", strings.NewReader("abcdef"), driver.PutOptions{Verify: func(n int64) error {
		called = n == 6
		return nil
	}})
	if err != nil || !called || string(content(t, d, "blobs/ok")) != "abcdef" {
		t.Fatalf("accepted put: %v, verify called with 6 bytes: %v", err, called)
	}
}

func testIfNotExists(t *testing.T, s Suite) {
	d, _ := s.New(t)
	once := driver.PutOptions{IfNotExists: true}
	if _, err := d.Put(ctx, "gc/lease", strings.NewReader("first"), once); err != nil {
		t.Fatal(err)
	}
	_, err := d.Put(ctx, "gc/lease", strings.NewReader("second"), once)
	wantErr(t, "second create", err, driver.ErrExist)
	if got := content(t, d, "gc/lease"); string(got) != "first" {
		t.Fatalf("create replaced an existing object: %q", got)
	}
	big := testbytes.Random(t, 6<<20+3) // beyond one S3 part
	_, err = d.Put(ctx, "gc/lease", bytes.NewReader(big), once)
	wantErr(t, "large create over an existing object", err, driver.ErrExist)
	if got := content(t, d, "gc/lease"); string(got) != "first" {
		t.Fatalf("large create replaced an existing object: %d bytes", len(got))
	}
	if err := d.Delete(ctx, "gc/lease"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "gc/lease", bytes.NewReader(big), once); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
	if got := content(t, d, "gc/lease"); !bytes.Equal(got, big) {
		t.Fatalf("large create: %d bytes differ", len(got))
	}
}

// testConcurrentCommit: of concurrent exclusive creates of one key exactly
// one wins, and the object holds the winner's bytes.
func testConcurrentCommit(t *testing.T, s Suite) {
	d, _ := s.New(t)
	const writers = 6
	var wg sync.WaitGroup
	results := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := bytes.Repeat([]byte{byte('a' + i)}, 100<<10)
			_, results[i] = d.Put(ctx, "blobs/sha256/ab/abcd", bytes.NewReader(v), driver.PutOptions{IfNotExists: true})
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both created the object", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, driver.ErrExist):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the object")
	}
	got := content(t, d, "blobs/sha256/ab/abcd")
	if !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + winner)}, 100<<10)) {
		t.Fatalf("object does not hold the winner's bytes")
	}
}

func testInvalidKeys(t *testing.T, s Suite) {
	d, _ := s.New(t)
	put(t, d, "inside", []byte("x"))
	bad := []string{"", "/etc/passwd", "..", "../x", "a/../../x", "a/..", "a//b", "a/./b", "./a", "a/",
		`a\..\..\x`, "a\x00b", "a\nb", strings.Repeat("a", 2000)}
	for _, key := range bad {
		what := fmt.Sprintf("key %q: ", key)
		_, err := d.Stat(ctx, key)
		wantErr(t, what+"stat", err, driver.ErrInvalidKey)
		_, err = d.GetContent(ctx, key, 10)
		wantErr(t, what+"get", err, driver.ErrInvalidKey)
		_, err = d.Open(ctx, key)
		wantErr(t, what+"open", err, driver.ErrInvalidKey)
		_, err = d.Put(ctx, key, strings.NewReader("escape"), driver.PutOptions{})
		wantErr(t, what+"put", err, driver.ErrInvalidKey)
		wantErr(t, what+"delete", d.Delete(ctx, key), driver.ErrInvalidKey)
		_, err = d.StartUpload(ctx, key, nil)
		wantErr(t, what+"start upload", err, driver.ErrInvalidKey)
		_, err = d.ResumeUpload(ctx, key)
		wantErr(t, what+"resume upload", err, driver.ErrInvalidKey)
		err = d.List(ctx, key+"/", driver.ListOptions{}, func(driver.Entry) error { return nil })
		wantErr(t, what+"list", err, driver.ErrInvalidKey)
	}
	for _, prefix := range []string{"inside", "/", "../", "a//"} {
		err := d.List(ctx, prefix, driver.ListOptions{}, func(driver.Entry) error { return nil })
		wantErr(t, fmt.Sprintf("list prefix %q", prefix), err, driver.ErrInvalidKey)
	}
	u, err := d.StartUpload(ctx, "uploads/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "commit to ../escape", u.Commit(ctx, "../escape", driver.PutOptions{}), driver.ErrInvalidKey)
	if err := u.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "only what was put", list(t, d, "", driver.ListOptions{Recursive: true}), []string{"inside"})
}

// generator yields n pseudo-random bytes once; reading past the end twice
// means a driver read its input again.
type generator struct {
	n, off int64
	x      uint64
	eofs   int
	onRead func(off int64)
}

func (g *generator) Read(p []byte) (int, error) {
	if g.off >= g.n {
		if g.eofs++; g.eofs > 2 {
			return 0, errors.New("input read again after EOF")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > g.n-g.off {
		p = p[:g.n-g.off]
	}
	for i := range p {
		g.x = g.x*6364136223846793005 + 1442695040888963407
		p[i] = byte(g.x >> 56)
	}
	g.off += int64(len(p))
	if g.onRead != nil {
		g.onRead(g.off)
	}
	return len(p), nil
}

// sameStream compares r with a fresh generator of n bytes.
func sameStream(t *testing.T, what string, r io.Reader, n int64) {
	t.Helper()
	want := &generator{n: n}
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		m, err := io.ReadFull(r, a)
		if m > 0 {
			if _, werr := io.ReadFull(want, b[:m]); werr != nil || !bytes.Equal(a[:m], b[:m]) {
				t.Fatalf("%s: bytes differ near offset %d", what, off)
			}
			off += int64(m)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: read at %d: %v", what, off, err)
		}
	}
	if off != n {
		t.Fatalf("%s: %d bytes, want %d", what, off, n)
	}
}
