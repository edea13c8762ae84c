package drivertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/layerlab/layerlab/registry/internal/testbytes"
	"github.com/layerlab/layerlab/registry/storage/driver"
)

// heapWatch samples the heap while a stream is written, to catch a driver
// that holds a whole object in memory.
type heapWatch struct {
	base, peak uint64
	next       int64
}

func newHeapWatch() *heapWatch {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &heapWatch{base: m.HeapInuse, peak: m.HeapInuse}
}

func (h *heapWatch) sample(off int64) {
	if off < h.next {
		return
	}
	h.next = off + 4<<20
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak = max(h.peak, m.HeapInuse)
}

func (h *heapWatch) check(t *testing.T, s Suite, what string, size int64) {
	t.Helper()
	grew := int64(h.peak) - int64(h.base)
	t.Logf("%s: heap grew by %d MiB at most while streaming %d MiB", what, grew>>20, size>>20)
	if !s.InMemory && grew > size/2 {
		t.Fatalf("%s: the heap grew by %d MiB while streaming %d MiB: the driver buffers the object", what, grew>>20, size>>20)
	}
}

func testLargeStreaming(t *testing.T, s Suite) {
	d, _ := s.New(t)
	size := s.Large
	if size == 0 {
		size = 64 << 20
	}
	h := newHeapWatch()
	g := &generator{n: size, onRead: h.sample}
	var verified int64
	n, err := d.Put(ctx, "blobs/large", g, driver.PutOptions{IfNotExists: true, Verify: func(n int64) error {
		verified = n
		return nil
	}})
	if err != nil || n != size || verified != size {
		t.Fatalf("put: %d bytes, verified %d, %v", n, verified, err)
	}
	h.check(t, s, "put", size)
	r, err := d.Open(ctx, "blobs/large")
	if err != nil {
		t.Fatal(err)
	}
	sameStream(t, "read back", r, size)
	r.Close()

	u, err := d.StartUpload(ctx, "uploads/large", []byte("0"))
	if err != nil {
		t.Fatal(err)
	}
	h = newHeapWatch()
	g = &generator{n: size, onRead: h.sample}
	if _, err := u.Append(ctx, g, func(n int64) ([]byte, error) { return []byte(fmt.Sprint(n)), nil }); err != nil {
		t.Fatal(err)
	}
	h.check(t, s, "append", size)
	if err := u.Commit(ctx, "blobs/large2", driver.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err = d.Open(ctx, "blobs/large2")
	if err != nil {
		t.Fatal(err)
	}
	sameStream(t, "committed upload", r, size)
	r.Close()
}

// chunks of sizes around S3's 5 MiB minimum part, so that a driver
// composing parts meets small and large ones in every order.
var chunkSizes = []int{1000, 6<<20 + 1, 100, 5 << 20, 5<<20 - 1, 7, 1 << 20}

func appendChunk(t *testing.T, u driver.Upload, data []byte, state string) {
	t.Helper()
	before := u.Size()
	n, err := u.Append(ctx, bytes.NewReader(data), func(n int64) ([]byte, error) {
		if n != int64(len(data)) {
			return nil, fmt.Errorf("state asked after %d bytes, want %d", n, len(data))
		}
		return []byte(state), nil
	})
	if err != nil || n != int64(len(data)) || u.Size() != before+n || string(u.State()) != state {
		t.Fatalf("append %d bytes: %d, %v; size %d, state %q", len(data), n, err, u.Size(), u.State())
	}
}

func resume(t *testing.T, d driver.Driver, key string, size int64, state string) driver.Upload {
	t.Helper()
	u, err := d.ResumeUpload(ctx, key)
	if err != nil {
		t.Fatalf("resume %s: %v", key, err)
	}
	if u.Size() != size || string(u.State()) != state || u.Key() != key {
		t.Fatalf("resumed %s: size %d, state %q; want %d, %q", u.Key(), u.Size(), u.State(), size, state)
	}
	return u
}

func readUpload(t *testing.T, u driver.Upload) []byte {
	t.Helper()
	r, err := u.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testUploadHandoff: a session started by one instance is continued by
// another on the same backing store, chunk by chunk, then committed.
func testUploadHandoff(t *testing.T, s Suite) {
	d1, reopen := s.New(t)
	d2 := reopen()
	u, err := d1.StartUpload(ctx, "uploads/abc", []byte("state-0"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = d2.StartUpload(ctx, "uploads/abc", nil)
	wantErr(t, "second start of one session", err, driver.ErrExist)
	u = resume(t, d2, "uploads/abc", 0, "state-0")
	var all []byte
	for i, n := range chunkSizes {
		chunk := testbytes.Random(t, n)
		appendChunk(t, u, chunk, fmt.Sprintf("state-%d", i+1))
		all = append(all, chunk...)
		d := d1
		if i%2 == 1 {
			d = d2
		}
		u = resume(t, d, "uploads/abc", int64(len(all)), fmt.Sprintf("state-%d", i+1))
	}
	if got := readUpload(t, u); !bytes.Equal(got, all) {
		t.Fatalf("session holds %d bytes that differ from the %d appended", len(got), len(all))
	}
	if err := u.Commit(ctx, "blobs/sha256/ab/abc", driver.PutOptions{IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
	if got := content(t, d1, "blobs/sha256/ab/abc"); !bytes.Equal(got, all) {
		t.Fatalf("committed object: %d bytes differ", len(got))
	}
	_, err = d2.ResumeUpload(ctx, "uploads/abc")
	wantErr(t, "resume after commit", err, driver.ErrNotFound)
	sameKeys(t, "nothing left of the session", list(t, d2, "uploads/", driver.ListOptions{Recursive: true}), nil)
}

func testUploadCommitExisting(t *testing.T, s Suite) {
	d, _ := s.New(t)
	put(t, d, "blobs/x", []byte("existing"))
	u, err := d.StartUpload(ctx, "uploads/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	appendChunk(t, u, []byte("new bytes"), "1")
	wantErr(t, "exclusive commit over an object", u.Commit(ctx, "blobs/x", driver.PutOptions{IfNotExists: true}), driver.ErrExist)
	if got := content(t, d, "blobs/x"); string(got) != "existing" {
		t.Fatalf("exclusive commit replaced the object: %q", got)
	}
	u = resume(t, d, "uploads/x", 9, "1")
	bad := errors.New("digest mismatch")
	wantErr(t, "rejected commit", u.Commit(ctx, "blobs/y", driver.PutOptions{Verify: func(int64) error { return bad }}), bad)
	_, err = d.Stat(ctx, "blobs/y")
	wantErr(t, "stat of a rejected commit", err, driver.ErrNotFound)
	u = resume(t, d, "uploads/x", 9, "1")
	if err := u.Commit(ctx, "blobs/x", driver.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := content(t, d, "blobs/x"); string(got) != "new bytes" {
		t.Fatalf("replacing commit: %q", got)
	}
	u, err = d.StartUpload(ctx, "uploads/empty", []byte("e"))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(ctx, "blobs/empty", driver.PutOptions{IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
	if got := content(t, d, "blobs/empty"); len(got) != 0 {
		t.Fatalf("empty session committed as %q", got)
	}
}

// testUploadStaleAppend: two holders of one session append from the same
// offset; the session ends up as one of them left it, state and bytes
// agreeing.
func testUploadStaleAppend(t *testing.T, s Suite) {
	d1, reopen := s.New(t)
	d2 := reopen()
	u, err := d1.StartUpload(ctx, "uploads/race", nil)
	if err != nil {
		t.Fatal(err)
	}
	appendChunk(t, u, []byte("base:"), "base")
	a := resume(t, d1, "uploads/race", 5, "base")
	b := resume(t, d2, "uploads/race", 5, "base")
	appendChunk(t, a, []byte("from-a"), "a")
	appendChunk(t, b, []byte("from-bb"), "b")
	final := resume(t, d1, "uploads/race", int64(len("base:from-bb")), "b")
	if got := readUpload(t, final); string(got) != "base:from-bb" {
		t.Fatalf("session holds %q with state %q", got, final.State())
	}
}

func testUploadErrors(t *testing.T, s Suite) {
	d, _ := s.New(t)
	u, err := d.StartUpload(ctx, "uploads/e", []byte("s0"))
	if err != nil {
		t.Fatal(err)
	}
	appendChunk(t, u, []byte("kept"), "s1")
	boom := errors.New("state refused")
	if _, err := u.Append(ctx, strings.NewReader("lost"), func(int64) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("append whose state fails: %v", err)
	}
	readFail := errors.New("client went away")
	r := io.MultiReader(strings.NewReader("half"), errReader{readFail})
	if _, err := u.Append(ctx, r, func(int64) ([]byte, error) { return []byte("bad"), nil }); !errors.Is(err, readFail) {
		t.Fatalf("append whose body fails: %v", err)
	}
	u = resume(t, d, "uploads/e", 4, "s1")
	if got := readUpload(t, u); string(got) != "kept" {
		t.Fatalf("failed appends changed the session: %q", got)
	}
	appendChunk(t, u, []byte("+more"), "s2")
	if got := readUpload(t, resume(t, d, "uploads/e", 9, "s2")); string(got) != "kept+more" {
		t.Fatalf("append after failures: %q", got)
	}
	stale := resume(t, d, "uploads/e", 9, "s2")
	if err := u.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = d.ResumeUpload(ctx, "uploads/e")
	wantErr(t, "resume after cancel", err, driver.ErrNotFound)
	_, err = stale.Append(ctx, strings.NewReader("late"), func(int64) ([]byte, error) { return []byte("s3"), nil })
	wantErr(t, "append to a cancelled session", err, driver.ErrNotFound)
	_, err = d.ResumeUpload(ctx, "uploads/e")
	wantErr(t, "resume after a late append", err, driver.ErrNotFound)
	sameKeys(t, "nothing left of the session", list(t, d, "uploads/", driver.ListOptions{Recursive: true}), nil)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func testContextCancel(t *testing.T, s Suite) {
	d, _ := s.New(t)
	cctx, cancel := context.WithCancel(ctx)
	g := &generator{n: 16 << 20, onRead: func(off int64) {
		if off >= 3<<20 {
			cancel()
		}
	}}
	_, err := d.Put(cctx, "blobs/cancelled", g, driver.PutOptions{})
	wantErr(t, "cancelled put", err, context.Canceled)
	_, err = d.Stat(ctx, "blobs/cancelled")
	wantErr(t, "stat of a cancelled put", err, driver.ErrNotFound)

	u, err := d.StartUpload(ctx, "uploads/c", []byte("s0"))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel = context.WithCancel(ctx)
	g = &generator{n: 16 << 20, onRead: func(off int64) {
		if off >= 3<<20 {
			cancel()
		}
	}}
	_, err = u.Append(cctx, g, func(int64) ([]byte, error) { return []byte("s1"), nil })
	wantErr(t, "cancelled append", err, context.Canceled)
	resume(t, d, "uploads/c", 0, "s0")

	putAll(t, d, nested)
	err = d.List(cctx, "l/", driver.ListOptions{Recursive: true}, func(driver.Entry) error { return nil })
	wantErr(t, "list with a cancelled context", err, context.Canceled)
	_, err = d.Stat(cctx, "l/a")
	wantErr(t, "stat with a cancelled context", err, context.Canceled)
}
