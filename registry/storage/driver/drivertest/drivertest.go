// Package drivertest is the one test suite every storage driver passes:
// each driver's tests call Run with a way to make fresh, empty instances.
package drivertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/layerlab/layerlab/registry/internal/testbytes"
	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Suite says how to get drivers to test.
type Suite struct {
	// New returns an empty driver, and a function that opens another
	// driver instance on the same backing store (as another process would).
	New func(t *testing.T) (d driver.Driver, reopen func() driver.Driver)
	// InMemory drivers hold every object in memory by design; the suite
	// then skips only the check that streaming writes stay out of memory.
	InMemory bool
	// Large is the size of the streaming test's object (64 MiB if 0).
	Large int64
	// EmptyDirsLinger: a one-level listing may still show a directory
	// emptied moments ago (SeaweedFS removes empty folders in the
	// background), which the interface allows.
	EmptyDirsLinger bool
}

// Run runs every contract test of the driver boundary.
func Run(t *testing.T, s Suite) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s Suite)
	}{
		{"RoundTrip", testRoundTrip},
		{"NotFound", testNotFound},
		{"DeleteMany", testDeleteMany},
		{"RangeRead", testRangeRead},
		{"ListOrder", testListOrder},
		{"ListStartAfter", testListStartAfter},
		{"ListDirs", testListDirs},
		{"AtomicReplace", testAtomicReplace},
		{"VerifyRejects", testVerifyRejects},
		{"IfNotExists", testIfNotExists},
		{"ConcurrentCommit", testConcurrentCommit},
		{"InvalidKeys", testInvalidKeys},
		{"LargeStreaming", testLargeStreaming},
		{"UploadHandoff", testUploadHandoff},
		{"UploadCommitExisting", testUploadCommitExisting},
		{"UploadStaleAppend", testUploadStaleAppend},
		{"UploadErrors", testUploadErrors},
		{"ContextCancel", testContextCancel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

var ctx = context.Background()

// put stores data at key, failing the test on error.
func put(t *testing.T, d driver.Driver, key string, data []byte) {
	t.Helper()
	n, err := d.Put(ctx, key, bytes.NewReader(data), driver.PutOptions{})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("put %s: %d bytes read, want %d", key, n, len(data))
	}
}

// content reads key whole, failing the test on error.
func content(t *testing.T, d driver.Driver, key string) []byte {
	t.Helper()
	b, err := d.GetContent(ctx, key, 1<<30)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return b
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func testRoundTrip(t *testing.T, s Suite) {
	d, _ := s.New(t)
	data := []byte("sha256:0123456789abcdef")
	put(t, d, "repositories/lab/base/_manifests/tags/latest", data)
	if got := content(t, d, "repositories/lab/base/_manifests/tags/latest"); !bytes.Equal(got, data) {
		t.Fatalf("content %q, want %q", got, data)
	}
	info, err := d.Stat(ctx, "repositories/lab/base/_manifests/tags/latest")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) || info.ModTime.IsZero() {
		t.Fatalf("stat %+v: want size %d and a modification time", info, len(data))
	}
	put(t, d, "empty", nil)
	if got := content(t, d, "empty"); len(got) != 0 {
		t.Fatalf("empty object read as %q", got)
	}
	_, err = d.GetContent(ctx, "repositories/lab/base/_manifests/tags/latest", 4)
	wantErr(t, "content over the limit", err, driver.ErrTooLarge)
	r, err := d.Open(ctx, "repositories/lab/base/_manifests/tags/latest")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) || r.Info().Size != int64(len(data)) {
		t.Fatalf("open: read %q (%v), info %+v", got, err, r.Info())
	}
	if err := d.Delete(ctx, "repositories/lab/base/_manifests/tags/latest"); err != nil {
		t.Fatal(err)
	}
	_, err = d.Stat(ctx, "repositories/lab/base/_manifests/tags/latest")
	wantErr(t, "stat after delete", err, driver.ErrNotFound)
}

func testNotFound(t *testing.T, s Suite) {
	d, _ := s.New(t)
	put(t, d, "a/b", []byte("x"))
	for _, key := range []string{"missing", "a/missing", "a/b/c", "a"} {
		_, err := d.Stat(ctx, key)
		wantErr(t, "stat "+key, err, driver.ErrNotFound)
		_, err = d.GetContent(ctx, key, 10)
		wantErr(t, "get "+key, err, driver.ErrNotFound)
		_, err = d.Open(ctx, key)
		wantErr(t, "open "+key, err, driver.ErrNotFound)
		wantErr(t, "delete "+key, d.Delete(ctx, key), driver.ErrNotFound)
		_, err = d.ResumeUpload(ctx, key)
		wantErr(t, "resume "+key, err, driver.ErrNotFound)
	}
}

// testDeleteMany: a driver that deletes in batches removes every key
// given, skips missing ones, and leaves the others, as another instance
// sees.
func testDeleteMany(t *testing.T, s Suite) {
	d, reopen := s.New(t)
	b, ok := d.(driver.BatchDeleter)
	if !ok {
		t.Skip("the driver deletes one key at a time (no driver.BatchDeleter)")
	}
	keys := []string{"r/a/_layers/sha256/1", "r/a/_layers/sha256/2", "r/a/_manifests/tags/t", "r/b/_layers/sha256/1", "r/c"}
	putAll(t, d, keys)
	if err := b.DeleteMany(ctx, []string{"r/a/_layers/sha256/1", "r/a/_layers/sha256/2", "r/b/_layers/sha256/1", "r/missing", "r/a/_manifests/tags/none"}); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "left after DeleteMany", list(t, reopen(), "r/", driver.ListOptions{Recursive: true}), []string{"r/a/_manifests/tags/t", "r/c"})
	if err := b.DeleteMany(ctx, nil); err != nil {
		t.Fatalf("nothing to delete: %v", err)
	}
	if err := b.DeleteMany(ctx, []string{"../escape"}); err == nil {
		t.Fatal("a key outside the store was accepted")
	}
}

func testRangeRead(t *testing.T, s Suite) {
	d, _ := s.New(t)
	data := testbytes.Random(t, 3<<20+17)
	put(t, d, "blobs/big", data)
	r, err := d.Open(ctx, "blobs/big")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
		t.Fatalf("seek to end: %d, %v; want %d", end, err, len(data))
	}
	for _, rg := range [][2]int64{{0, 10}, {1 << 20, 4096}, {int64(len(data)) - 5, 5}, {17, 2 << 20}, {3, 1}} {
		if _, err := r.Seek(rg[0], io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, rg[1])
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("read %d bytes at %d: %v", rg[1], rg[0], err)
		}
		if !bytes.Equal(buf, data[rg[0]:rg[0]+rg[1]]) {
			t.Fatalf("bytes at %d..%d differ", rg[0], rg[0]+rg[1])
		}
	}
	if pos, err := r.Seek(-4, io.SeekCurrent); err != nil || pos != 3+1-4 {
		t.Fatalf("seek back: %d, %v", pos, err)
	}
	if _, err := r.Seek(int64(len(data)), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read at the end: %d, %v; want 0, EOF", n, err)
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek before the start accepted")
	}
}

// nested names whose lexical order differs from a directory-by-directory
// walk ("a-b" < "a/" < "ab"), as repository names do (lab-x, lab/base, labs).
// No key is also a directory ("l/a" beside "l/a/b"): a filesystem cannot
// hold both, and the store never needs both.
var nested = []string{"l/a-b", "l/a/b", "l/a/c/d", "l/a/c/e", "l/ab", "l/b/z", "l/c"}

func putAll(t *testing.T, d driver.Driver, keys []string) {
	t.Helper()
	for _, k := range keys {
		put(t, d, k, []byte(k))
	}
}

func list(t *testing.T, d driver.Driver, prefix string, opts driver.ListOptions) []string {
	t.Helper()
	var keys []string
	err := d.List(ctx, prefix, opts, func(e driver.Entry) error {
		if e.Dir != (e.Key[len(e.Key)-1] == '/') {
			return fmt.Errorf("entry %q: Dir %v", e.Key, e.Dir)
		}
		if !e.Dir && e.ModTime.IsZero() && !opts.KeysOnly {
			return fmt.Errorf("entry %q: no modification time", e.Key)
		}
		keys = append(keys, e.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("list %q %+v: %v", prefix, opts, err)
	}
	return keys
}

func sameKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func testListOrder(t *testing.T, s Suite) {
	d, _ := s.New(t)
	putAll(t, d, nested)
	put(t, d, "other", []byte("other"))
	sameKeys(t, "recursive", list(t, d, "l/", driver.ListOptions{Recursive: true}), nested)
	err := d.List(ctx, "l/", driver.ListOptions{Recursive: true}, func(e driver.Entry) error {
		if e.Size != int64(len(e.Key)) {
			return fmt.Errorf("entry %q: size %d, want %d", e.Key, e.Size, len(e.Key))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "everything", list(t, d, "", driver.ListOptions{Recursive: true}), append(append([]string{}, nested...), "other"))
	sameKeys(t, "nested prefix", list(t, d, "l/a/", driver.ListOptions{Recursive: true}), []string{"l/a/b", "l/a/c/d", "l/a/c/e"})
	sameKeys(t, "nothing there", list(t, d, "none/", driver.ListOptions{Recursive: true}), nil)
	var n int
	err = d.List(ctx, "l/", driver.ListOptions{Recursive: true}, func(driver.Entry) error {
		if n++; n == 3 {
			return driver.ErrStop
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("stopped listing: %d entries, %v", n, err)
	}
	boom := errors.New("boom")
	if err := d.List(ctx, "l/", driver.ListOptions{}, func(driver.Entry) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("callback error: %v", err)
	}
}

func testListStartAfter(t *testing.T, s Suite) {
	d, _ := s.New(t)
	putAll(t, d, nested)
	for i, after := range append([]string{"l/", "l/a-a", "l/a/", "l/a/c", "l/a/c/d", "l/zzz"}, nested...) {
		var want []string
		for _, k := range nested {
			if k > after {
				want = append(want, k)
			}
		}
		sameKeys(t, fmt.Sprintf("#%d recursive after %q", i, after),
			list(t, d, "l/", driver.ListOptions{Recursive: true, StartAfter: after}), want)
	}
	all := []string{"l/a-b", "l/a/", "l/ab", "l/b/", "l/c"}
	for _, after := range []string{"", "l/a", "l/a-b", "l/a/", "l/a/c", "l/aa", "l/b", "l/b/", "l/c"} {
		var want []string
		for _, k := range all {
			if k > after {
				want = append(want, k)
			}
		}
		sameKeys(t, fmt.Sprintf("one level after %q", after), list(t, d, "l/", driver.ListOptions{StartAfter: after}), want)
	}
}

func testListDirs(t *testing.T, s Suite) {
	d, _ := s.New(t)
	putAll(t, d, nested)
	sameKeys(t, "one level", list(t, d, "l/", driver.ListOptions{}), []string{"l/a-b", "l/a/", "l/ab", "l/b/", "l/c"})
	// KeysOnly changes what an entry says, not which entries there are.
	sameKeys(t, "one level, keys only", list(t, d, "l/", driver.ListOptions{KeysOnly: true}), []string{"l/a-b", "l/a/", "l/ab", "l/b/", "l/c"})
	sameKeys(t, "recursive, keys only", list(t, d, "l/", driver.ListOptions{Recursive: true, KeysOnly: true}), nested)
	sameKeys(t, "keys only, after l/a-b", list(t, d, "l/", driver.ListOptions{KeysOnly: true, StartAfter: "l/a-b"}), []string{"l/a/", "l/ab", "l/b/", "l/c"})
	sameKeys(t, "top", list(t, d, "", driver.ListOptions{}), []string{"l/"})
	for _, k := range []string{"l/a/b", "l/a/c/d", "l/a/c/e"} {
		if err := d.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	got := list(t, d, "l/", driver.ListOptions{})
	if s.EmptyDirsLinger {
		got = slices.DeleteFunc(got, func(k string) bool { return k == "l/a/" })
	}
	sameKeys(t, "after emptying l/a/", got, []string{"l/a-b", "l/ab", "l/b/", "l/c"})
	sameKeys(t, "nothing below l/a/", list(t, d, "l/a/", driver.ListOptions{Recursive: true}), nil)
	// The emptied directory takes a new object again.
	put(t, d, "l/a/c/f", []byte("l/a/c/f"))
	sameKeys(t, "refilled", list(t, d, "l/a/", driver.ListOptions{Recursive: true}), []string{"l/a/c/f"})
}
