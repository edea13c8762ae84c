package storage_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// TestNamesCannotEscape: the store checks every name, tag, digest and
// upload id itself, whoever calls it — nothing is written outside the root.
func TestNamesCannotEscape(t *testing.T) {
	outer := t.TempDir()
	root := filepath.Join(outer, "a", "b", "root")
	s := open(t, root)
	ctx := t.Context()
	data := []byte("escape")
	d := digest.FromBytes(data)
	good := putImage(t, s, "lab/app", "v1", nil)
	for _, name := range []string{"../../escape", "../escape", "lab/../../../escape", "/abs", "lab/_layers", "a\x00b", `a\b`, ".", ""} {
		checks := map[string]error{
			"Tag":         s.Tag(ctx, name, "v1", good.d),
			"DeleteTag":   s.DeleteTag(ctx, name, "v1"),
			"LinkBlob":    s.LinkBlob(ctx, name, good.layer),
			"DeleteBlob":  s.DeleteBlob(ctx, name, good.layer),
			"KeepFresh":   s.KeepFresh(ctx, name, good.layer),
			"DeleteManif": s.DeleteManifest(ctx, name, good.d),
		}
		_, checks["PutBlob"] = s.PutBlob(ctx, name, d, int64(len(data)), bytes.NewReader(data))
		_, _, checks["PutManifest"] = s.PutManifest(ctx, name, "v1", storage.MediaTypeOCIManifest, good.body, nil)
		_, checks["StartUpload"] = s.StartUpload(ctx, name, digest.SHA256)
		_, checks["Tags"] = s.Tags(ctx, name)
		_, checks["StatBlob"] = s.StatBlob(ctx, name, good.layer)
		_, checks["Mount"] = s.Mount(ctx, name, "lab/app", good.layer)
		_, _, _, checks["GetManifest"] = s.GetManifest(ctx, name, "v1")
		_, checks["Referrers"] = s.Referrers(ctx, name, good.d, storage.ReferrersQuery{})
		for op, err := range checks {
			if err == nil {
				t.Errorf("%s(%q) succeeded", op, name)
			}
		}
	}
	for _, tag := range []string{"../../../../escape", "../x", "a/b", ".hidden", ""} {
		if err := s.Tag(ctx, "lab/app", tag, good.d); !errors.Is(err, storage.ErrTagInvalid) {
			t.Errorf("Tag(lab/app, %q): %v, want ErrTagInvalid", tag, err)
		}
		if _, _, err := s.PutManifest(ctx, "lab/app", "v1", storage.MediaTypeOCIManifest, good.body, []string{tag}); err == nil {
			t.Errorf("PutManifest with tag %q succeeded", tag)
		}
		if _, _, err := s.ResolveManifest(ctx, "lab/app", tag); err == nil {
			t.Errorf("ResolveManifest(%q) succeeded", tag)
		}
	}
	for _, bad := range []digest.Digest{"sha256:../../../../escape", "sha256:" + digest.Digest(strings.Repeat("0", 62)) + "/..", "md5:00"} {
		if _, err := s.PutBlob(ctx, "lab/app", bad, 1, strings.NewReader("x")); err == nil {
			t.Errorf("PutBlob(%q) succeeded", bad)
		}
		if err := s.Tag(ctx, "lab/app", "v2", bad); err == nil {
			t.Errorf("Tag to %q succeeded", bad)
		}
	}
	for _, id := range []string{"../../escape", "../" + strings.Repeat("a", 29), strings.Repeat("A", 32)} {
		if _, err := s.UploadStatus(ctx, "lab/app", id); !errors.Is(err, storage.ErrUploadUnknown) {
			t.Errorf("UploadStatus(%q): %v, want ErrUploadUnknown", id, err)
		}
		if _, err := s.AppendUpload(ctx, "lab/app", id, -1, -1, strings.NewReader("x")); err == nil {
			t.Errorf("AppendUpload(%q) succeeded", id)
		}
	}
	filepath.WalkDir(outer, func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !strings.HasPrefix(path, root+string(filepath.Separator)) {
			t.Errorf("%s was written outside the root", path)
		}
		return nil
	})
}

// TestLegacyUploadSession: a session written before the driver boundary
// (info and data, no stored hash) resumes through the store, its hash
// rebuilt from its bytes, and commits with its digest verified.
func TestLegacyUploadSession(t *testing.T) {
	root := t.TempDir()
	id := "00112233445566778899aabbccddeeff"
	dir := filepath.Join(root, "uploads", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "info"), []byte(`{"repository":"lab/app","started":"2026-01-02T03:04:05Z","algorithm":"sha256"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "data"), []byte("first "), 0o644)
	s := open(t, root)
	if n, err := s.UploadStatus(t.Context(), "lab/app", id); err != nil || n != 6 {
		t.Fatalf("status of the old session: %d, %v", n, err)
	}
	if n, err := s.AppendUpload(t.Context(), "lab/app", id, 6, 7, strings.NewReader("second ")); err != nil || n != 13 {
		t.Fatalf("append: %d, %v", n, err)
	}
	want := digest.FromString("first second third")
	if _, err := s.FinishUpload(t.Context(), "lab/app", id, digest.FromString("wrong"), -1, -1, strings.NewReader("third")); !errors.Is(err, storage.ErrDigestInvalid) {
		t.Fatalf("wrong digest: %v", err)
	}
	if n, err := s.FinishUpload(t.Context(), "lab/app", id, want, -1, -1, strings.NewReader("third")); err != nil || n != 18 {
		t.Fatalf("finish: %d, %v", n, err)
	}
	wantBlob(t, s, "lab/app", want, []byte("first second third"))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old session's directory stays: %v", err)
	}
}

// TestStoreOnDrivers runs a round trip of the store on the memory driver
// and, when the environment names one (scripts/s3-test.sh), on a real S3
// server; each "process" is a Store of its own on the shared backend.
func TestStoreOnDrivers(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		m := memory.New()
		roundTrip(t, func() driver.Driver { return m.Share() })
	})
	t.Run("s3", func(t *testing.T) {
		roundTrip(t, registrytest.S3(t, "store"))
	})
}

func roundTrip(t *testing.T, newDriver func() driver.Driver) {
	ctx := t.Context()
	stores := make([]*storage.Store, 3)
	for i := range stores {
		s, err := storage.Open("", storage.Options{Driver: newDriver()})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	s := stores[0]
	im := putImage(t, s, "lab/app", "v1", nil)
	putImage(t, s, "lab/app/sub", "v1", nil)
	ref := putImage(t, s, "lab/app", "", &im)

	// A chunked upload whose POST, PATCHes and PUT go to three processes;
	// with 6 MiB chunks an S3 commit composes parts server-side.
	data := registrytest.RandomBytes(t, 13<<20)
	want := digest.SHA512.FromBytes(data)
	id, err := stores[0].StartUpload(ctx, "lab/app", digest.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stores[1].AppendUpload(ctx, "lab/app", id, 0, 6<<20, bytes.NewReader(data[:6<<20])); err != nil || n != 6<<20 {
		t.Fatalf("first PATCH: %d, %v", n, err)
	}
	if n, err := stores[2].AppendUpload(ctx, "lab/app", id, 0, 6<<20, bytes.NewReader(data[:6<<20])); !errors.Is(err, storage.ErrRangeInvalid) || n != 6<<20 {
		t.Fatalf("replayed PATCH: %d, %v; want ErrRangeInvalid", n, err)
	}
	if n, err := stores[2].AppendUpload(ctx, "lab/app", id, 6<<20, 6<<20, bytes.NewReader(data[6<<20:12<<20])); err != nil || n != 12<<20 {
		t.Fatalf("second PATCH: %d, %v", n, err)
	}
	if _, err := stores[0].FinishUpload(ctx, "lab/app", id, digest.SHA512.FromString("wrong"), -1, -1, bytes.NewReader(data[12<<20:])); !errors.Is(err, storage.ErrDigestInvalid) {
		t.Fatalf("PUT with a wrong digest: %v", err)
	}
	if n, err := stores[0].UploadStatus(ctx, "lab/app", id); err != nil || n != 12<<20 {
		t.Fatalf("after the refused PUT the session holds %d, %v; want it as it was", n, err)
	}
	if n, err := stores[0].FinishUpload(ctx, "lab/app", id, want, 12<<20, int64(len(data)-12<<20), bytes.NewReader(data[12<<20:])); err != nil || n != int64(len(data)) {
		t.Fatalf("PUT: %d, %v", n, err)
	}
	wantBlob(t, stores[1], "lab/app", want, data)
	r, err := stores[2].OpenBlob(ctx, "lab/app", want)
	if err != nil {
		t.Fatal(err)
	}
	r.Seek(10<<20, io.SeekStart)
	part := make([]byte, 100)
	if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, data[10<<20:10<<20+100]) {
		t.Fatalf("ranged read: %v", err)
	}
	r.Close()

	body, _, d, err := stores[1].GetManifest(ctx, "lab/app", "v1")
	if err != nil || d != im.d || !bytes.Equal(body, im.body) {
		t.Fatalf("manifest from another process: %s, %v", d, err)
	}
	if tags, err := stores[2].Tags(ctx, "lab/app"); err != nil || len(tags) != 1 || tags[0] != "v1" {
		t.Fatalf("tags: %v, %v", tags, err)
	}
	if repos, err := stores[2].Repositories(ctx); err != nil || strings.Join(repos, ",") != "lab/app,lab/app/sub" {
		t.Fatalf("repositories: %v, %v", repos, err)
	}
	page, err := stores[1].Referrers(ctx, "lab/app", im.d, storage.ReferrersQuery{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	page.WriteTo(&buf)
	if !strings.Contains(buf.String(), ref.d.String()) {
		t.Fatalf("referrers of the image: %s", buf.String())
	}
	u, err := stores[0].DiskUsage(ctx)
	if err != nil || len(u.Repositories) != 2 {
		t.Fatalf("usage: %+v, %v", u, err)
	}
	if err := stores[1].DeleteTag(ctx, "lab/app", "v1"); err != nil {
		t.Fatal(err)
	}
	res, err := stores[2].GC(ctx, storage.GCOptions{DeleteUntagged: true, Grace: -0})
	if err != nil {
		t.Fatal(err)
	}
	// Grace 0 and everything untagged in lab/app: its manifests go, and
	// the blobs only they held; lab/app/sub keeps its own.
	if len(res.DeletedManifests) != 2 {
		t.Fatalf("collected %+v", res)
	}
	if _, _, _, err := stores[0].GetManifest(ctx, "lab/app/sub", "v1"); err != nil {
		t.Fatalf("lab/app/sub after collection: %v", err)
	}
	if _, err := stores[0].StatBlob(ctx, "lab/app", im.layer); !errors.Is(err, storage.ErrBlobUnknown) {
		t.Fatalf("a swept layer: %v", err)
	}
	_ = time.Second
}
