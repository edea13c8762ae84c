package filesystem_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/filesystem"
)

// TestExistingStore: a tree written by the store reads through the driver
// as the same keys: blobs, links, tags, and an upload session in progress
// (data without driver state) that resumes and commits.
func TestExistingStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	s, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	layer := []byte("layer bytes")
	ld := digest.FromBytes(layer)
	if _, err := s.PutBlob(t.Context(), "lab/base", ld, int64(len(layer)), bytes.NewReader(layer)); err != nil {
		t.Fatal(err)
	}
	config := []byte("{}")
	cd := digest.FromBytes(config)
	if _, err := s.PutBlob(t.Context(), "lab/base", cd, int64(len(config)), bytes.NewReader(config)); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageManifest,
		Config: v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: cd, Size: int64(len(config))},
		Layers: []v1.Descriptor{{MediaType: v1.MediaTypeImageLayer, Digest: ld, Size: int64(len(layer))}}})
	md, _, err := s.PutManifest(t.Context(), "lab/base", "1.0", v1.MediaTypeImageManifest, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A session as the store wrote them before the driver: info and data.
	id := "0123456789abcdef0123456789abcdef"
	writeLegacySession(t, root, id, "lab/base", "chunk")

	d, err := filesystem.New(root, filesystem.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := d.GetContent(ctx, "repositories/lab/base/_manifests/tags/1.0", 4096)
	if err != nil || string(tag) != md.String() {
		t.Fatalf("tag through the driver: %q, %v; want %s", tag, err, md)
	}
	r, err := d.Open(ctx, "blobs/sha256/"+ld.Encoded()[:2]+"/"+ld.Encoded())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, layer) {
		t.Fatalf("blob through the driver: %q", got)
	}
	if _, err := d.Stat(ctx, "repositories/lab/base/_layers/sha256/"+ld.Encoded()); err != nil {
		t.Fatalf("layer link: %v", err)
	}
	var repos []string
	err = d.List(ctx, "repositories/lab/", driver.ListOptions{}, func(e driver.Entry) error {
		repos = append(repos, e.Key)
		return nil
	})
	if err != nil || len(repos) != 1 || repos[0] != "repositories/lab/base/" {
		t.Fatalf("repositories: %q, %v", repos, err)
	}
	u, err := d.ResumeUpload(ctx, "uploads/"+id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Size() != 5 || u.State() != nil {
		t.Fatalf("session of the store: size %d, state %q; want 5 and none", u.Size(), u.State())
	}
	n, err := u.Append(ctx, bytes.NewReader([]byte("+more")), func(int64) ([]byte, error) { return []byte("h"), nil })
	if err != nil || n != 5 {
		t.Fatal(n, err)
	}
	want := sha256.Sum256([]byte("chunk+more"))
	wd := digest.NewDigestFromBytes(digest.SHA256, want[:])
	key := "blobs/sha256/" + wd.Encoded()[:2] + "/" + wd.Encoded()
	if err := u.Commit(ctx, key, driver.PutOptions{IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := d.GetContent(ctx, key, 100); err != nil || string(b) != "chunk+more" {
		t.Fatalf("committed session: %q, %v", b, err)
	}
	if _, err := d.Stat(ctx, "uploads/"+id+"/info"); err != nil {
		t.Fatalf("the store's info file must stay for the store to remove: %v", err)
	}
}

// writeLegacySession writes an upload session as the store kept them
// before the driver boundary: uploads/<id>/info and data, no state.
func writeLegacySession(t *testing.T, root, id, repo, data string) {
	t.Helper()
	dir := filepath.Join(root, "uploads", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	info := `{"repository":"` + repo + `","started":"2026-01-02T03:04:05Z","algorithm":"sha256"}`
	if err := os.WriteFile(filepath.Join(dir, "info"), []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
