package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
)

func open(t *testing.T, root string) *storage.Store {
	t.Helper()
	s, err := storage.Open(root, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run calls fn from n goroutines at once and returns their errors.
func run(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func noErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s, goroutine %d: %v", what, i, err)
		}
	}
}

func wantBlob(t *testing.T, s *storage.Store, repo string, d digest.Digest, want []byte) {
	t.Helper()
	f, err := s.OpenBlob(t.Context(), repo, d)
	if err != nil {
		t.Fatalf("open %s in %s: %v", d, repo, err)
	}
	defer f.Close()
	size := f.Info().Size
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(len(want)) || !bytes.Equal(got, want) {
		t.Fatalf("blob %s in %s: %d bytes, not the ones pushed", d, repo, len(got))
	}
}

const n = 16

func TestConcurrentPushesOfOneBlob(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	data := registrytest.RandomBytes(t, 300<<10)
	d := digest.FromBytes(data)

	// Monolithic, into one repository and into sixteen.
	noErrors(t, "PutBlob", run(n, func(i int) error {
		_, err := s.PutBlob(t.Context(), "lab/one", d, int64(len(data)), bytes.NewReader(data))
		return err
	}))
	noErrors(t, "PutBlob", run(n, func(i int) error {
		_, err := s.PutBlob(t.Context(), fmt.Sprintf("lab/r%d", i), d, -1, bytes.NewReader(data))
		return err
	}))
	// Through upload sessions, in chunks.
	noErrors(t, "upload", run(n, func(i int) error {
		id, err := s.StartUpload(t.Context(), "lab/up", digest.SHA256)
		if err != nil {
			return err
		}
		half := int64(len(data) / 2)
		if _, err := s.AppendUpload(t.Context(), "lab/up", id, 0, half, bytes.NewReader(data[:half])); err != nil {
			return err
		}
		_, err = s.FinishUpload(t.Context(), "lab/up", id, d, half, int64(len(data))-half, bytes.NewReader(data[half:]))
		return err
	}))
	wantBlob(t, s, "lab/one", d, data)
	wantBlob(t, s, "lab/up", d, data)
	for i := 0; i < n; i++ {
		wantBlob(t, s, fmt.Sprintf("lab/r%d", i), d, data)
	}
	files, err := filepath.Glob(filepath.Join(root, "blobs", "sha256", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d blob files, want exactly 1: %v", len(files), files)
	}
	if l := registrytest.TempFiles(t, root); len(l) != 0 {
		t.Fatalf("temp files left: %v", l)
	}
	if ups, _ := os.ReadDir(filepath.Join(root, "uploads")); len(ups) != 0 {
		t.Fatalf("%d upload sessions left after they finished", len(ups))
	}
	// The running totals count the blob once, as a restarted store does.
	for _, st := range []storage.Stats{s.Stats(), open(t, root).Stats()} {
		if st.Blobs != 1 || st.BlobBytes != int64(len(data)) {
			t.Fatalf("stats %+v: want 1 blob of %d bytes", st, len(data))
		}
	}
}

// manifest is a small OCI manifest over the config and layer, made
// distinct by an annotation.
func manifest(cfg, layer digest.Digest, cfgSize, layerSize int64, note string) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}],`+
		`"annotations":{"note":%q}}`, cfg, cfgSize, layer, layerSize, note)
}

func TestConcurrentPushesOfOneTag(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	cfg, layer := []byte(`{"os":"linux"}`), registrytest.RandomBytes(t, 1000)
	cd, ld := digest.FromBytes(cfg), digest.FromBytes(layer)
	for _, b := range [][]byte{cfg, layer} {
		if _, err := s.PutBlob(t.Context(), "lab/app", digest.FromBytes(b), int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	bodies := make([][]byte, n)
	digests := make([]digest.Digest, n)
	for i := range bodies {
		bodies[i] = manifest(cd, ld, int64(len(cfg)), int64(len(layer)), fmt.Sprint(i))
		digests[i] = digest.FromBytes(bodies[i])
	}
	for round := 0; round < 3; round++ {
		noErrors(t, "PutManifest", run(n, func(i int) error {
			d, _, err := s.PutManifest(t.Context(), "lab/app", "latest", v1.MediaTypeImageManifest, bodies[i], []string{"also"})
			if err == nil && d != digests[i] {
				err = fmt.Errorf("stored as %s, want %s", d, digests[i])
			}
			return err
		}))
		// Every tag ends on one of the pushed values, whole.
		for _, tag := range []string{"latest", "also"} {
			body, mt, d, err := s.GetManifest(t.Context(), "lab/app", tag)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(digests, d) || digest.FromBytes(body) != d || mt != v1.MediaTypeImageManifest {
				t.Fatalf("tag %s: digest %s, %d bytes hashing to %s, media type %s", tag, d, len(body), digest.FromBytes(body), mt)
			}
		}
		// Plain tag moves, concurrently.
		noErrors(t, "Tag", run(n, func(i int) error { return s.Tag(t.Context(), "lab/app", "moved", digests[i]) }))
		if _, _, d, err := s.GetManifest(t.Context(), "lab/app", "moved"); err != nil || !slices.Contains(digests, d) {
			t.Fatalf("tag moved: %s, %v", d, err)
		}
	}
	for i, d := range digests {
		body, _, _, err := s.GetManifest(t.Context(), "lab/app", d.String())
		if err != nil || !bytes.Equal(body, bodies[i]) {
			t.Fatalf("manifest %d: %v", i, err)
		}
	}
	tags, err := s.Tags(t.Context(), "lab/app")
	if err != nil || !slices.Equal(tags, []string{"also", "latest", "moved"}) {
		t.Fatalf("tags %v, %v", tags, err)
	}
	if l := registrytest.TempFiles(t, root); len(l) != 0 {
		t.Fatalf("temp files left: %v", l)
	}
	if st := s.Stats(); st.Manifests != n || st.Repositories != 1 || st.Blobs != n+2 {
		t.Fatalf("stats %+v: want %d manifests in 1 repository, %d blobs", st, n, n+2)
	}
}

func TestCleanUploadsRemovesOldSessions(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	old, err := s.StartUpload(t.Context(), "lab/app", digest.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(t.Context(), "lab/app", old, 0, 3, bytes.NewReader([]byte("abc"))); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.StartUpload(t.Context(), "lab/app", digest.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(t.Context(), "lab/app", fresh, -1, -1, bytes.NewReader([]byte("xyz"))); err != nil {
		t.Fatal(err)
	}
	then := time.Now().Add(-3 * time.Hour)
	dir := filepath.Join(root, "uploads", old)
	ageSession(t, dir, then)
	// Left old by earlier builds: a session's directory, and a session's
	// file whose state was never stored (killed while starting).
	legacy := filepath.Join(root, "uploads", "00112233445566778899aabbccddeeff")
	if err := os.MkdirAll(legacy, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(legacy, "info"), []byte(`{"repository":"lab/app","algorithm":"sha256"}`), 0o644)
	os.WriteFile(filepath.Join(legacy, "data"), []byte("old"), 0o644)
	ageSession(t, legacy, then)
	torn := filepath.Join(root, "uploads", "ffeeddccbbaa99887766554433221100")
	os.WriteFile(torn, nil, 0o644)
	ageSession(t, torn, then)
	stale := filepath.Join(root, "tmp", "tmp-stale")
	if err := os.WriteFile(stale, []byte("half a write"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(stale, then, then); err != nil {
		t.Fatal(err)
	}
	removed, err := s.CleanUploads(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 3 {
		t.Fatalf("removed %d sessions, want 3", removed)
	}
	for _, p := range []string{legacy, torn} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still there: %v", p, err)
		}
	}
	if _, err := s.UploadStatus(t.Context(), "lab/app", old); !errors.Is(err, storage.ErrUploadUnknown) {
		t.Fatalf("old session after cleaning: %v, want ErrUploadUnknown", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old session directory still there: %v", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temp file still there: %v", err)
	}
	if size, err := s.UploadStatus(t.Context(), "lab/app", fresh); err != nil || size != 3 {
		t.Fatalf("fresh session: size %d, %v", size, err)
	}
	// A session unknown to this process (left by a previous one) is cleaned too.
	s2 := open(t, root)
	ageSession(t, filepath.Join(root, "uploads", fresh), then)
	if removed, err := s2.CleanUploads(t.Context(), time.Hour); err != nil || removed != 1 {
		t.Fatalf("restarted store removed %d, %v; want 1", removed, err)
	}
	if _, err := s2.UploadStatus(t.Context(), "lab/app", fresh); !errors.Is(err, storage.ErrUploadUnknown) {
		t.Fatalf("cleaned session: %v", err)
	}
}

// ageSession dates a session back to then: its file, or its directory
// and the files there (an older layout: data, and a state file or info).
func ageSession(t *testing.T, path string, then time.Time) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.Chtimes(filepath.Join(path, e.Name()), then, then); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chtimes(path, then, then); err != nil {
		t.Fatal(err)
	}
}

func TestUploadSurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		t.Run(alg.String(), func(t *testing.T) {
			root := t.TempDir()
			data := registrytest.RandomBytes(t, 5000)
			want := alg.FromBytes(data)
			s1 := open(t, root)
			id, err := s1.StartUpload(t.Context(), "lab/app", alg)
			if err != nil {
				t.Fatal(err)
			}
			if size, err := s1.AppendUpload(t.Context(), "lab/app", id, 0, 2000, bytes.NewReader(data[:2000])); err != nil || size != 2000 {
				t.Fatalf("append: %d, %v", size, err)
			}

			s2 := open(t, root) // the process restarted
			size, err := s2.UploadStatus(t.Context(), "lab/app", id)
			if err != nil || size != 2000 {
				t.Fatalf("status after restart: %d, %v; want 2000", size, err)
			}
			if _, err := s2.UploadStatus(t.Context(), "lab/other", id); !errors.Is(err, storage.ErrUploadUnknown) {
				t.Fatalf("session seen from another repository: %v", err)
			}
			if size, err := s2.AppendUpload(t.Context(), "lab/app", id, 1000, 1000, bytes.NewReader(data[1000:2000])); !errors.Is(err, storage.ErrRangeInvalid) || size != 2000 {
				t.Fatalf("replayed chunk after restart: %d, %v; want 2000, ErrRangeInvalid", size, err)
			}
			if size, err := s2.AppendUpload(t.Context(), "lab/app", id, 2000, 2000, bytes.NewReader(data[2000:4000])); err != nil || size != 4000 {
				t.Fatalf("chunk after restart: %d, %v", size, err)
			}
			if _, err := s2.FinishUpload(t.Context(), "lab/app", id, alg.FromString("wrong"), -1, -1, nil); !errors.Is(err, storage.ErrDigestInvalid) {
				t.Fatalf("wrong digest: %v", err)
			}
			if n, err := s2.FinishUpload(t.Context(), "lab/app", id, want, 4000, 1000, bytes.NewReader(data[4000:])); err != nil || n != 5000 {
				t.Fatalf("finish: %d, %v", n, err)
			}
			wantBlob(t, s2, "lab/app", want, data)
			if _, err := s2.UploadStatus(t.Context(), "lab/app", id); !errors.Is(err, storage.ErrUploadUnknown) {
				t.Fatalf("finished session: %v", err)
			}
		})
	}
}

func TestPutBlobRejectsWrongContent(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	data := []byte("the right bytes")
	d := digest.FromBytes(data)
	if _, err := s.PutBlob(t.Context(), "lab/app", d, -1, bytes.NewReader([]byte("the wrong bytes"))); !errors.Is(err, storage.ErrDigestInvalid) {
		t.Fatalf("wrong bytes: %v, want ErrDigestInvalid", err)
	}
	if _, err := s.PutBlob(t.Context(), "lab/app", d, 3, bytes.NewReader(data)); !errors.Is(err, storage.ErrSizeInvalid) {
		t.Fatalf("wrong size: %v, want ErrSizeInvalid", err)
	}
	if _, err := s.StatBlob(t.Context(), "lab/app", d); !errors.Is(err, storage.ErrBlobUnknown) {
		t.Fatalf("rejected blob is visible: %v", err)
	}
	if l := registrytest.TempFiles(t, root); len(l) != 0 {
		t.Fatalf("temp files left after rejections: %v", l)
	}
	// A failing disk leaves no temp file and no blob.
	boom := errors.New("disk on fire")
	sf, err := storage.Open(root, storage.Options{WriteFault: func() error { return boom }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sf.PutBlob(t.Context(), "lab/app", d, -1, bytes.NewReader(data)); !errors.Is(err, boom) {
		t.Fatalf("write fault: %v", err)
	}
	if _, err := s.StatBlob(t.Context(), "lab/app", d); !errors.Is(err, storage.ErrBlobUnknown) {
		t.Fatalf("blob visible after a failed write: %v", err)
	}
	if l := registrytest.TempFiles(t, root); len(l) != 0 {
		t.Fatalf("temp files left after a failed write: %v", l)
	}
}

func TestManifestNestingIsBounded(t *testing.T) {
	t.Parallel()
	deep := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"a":"` +
		strings.Repeat("[", 100) + `"},"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`
	if _, err := storage.ParseManifest("", []byte(deep)); !errors.Is(err, storage.ErrManifestInvalid) || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("70 levels: %v", err)
	}
	shallow := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"a":"` + strings.Repeat("[{", 100) + `"}}`
	if _, err := storage.ParseManifest("", []byte(shallow)); err != nil {
		t.Fatalf("brackets inside a string counted as nesting: %v", err)
	}
}
