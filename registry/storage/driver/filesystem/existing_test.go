package filesystem_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
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
	id, err := s.StartUpload(t.Context(), "lab/base", digest.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUpload(t.Context(), "lab/base", id, 0, 5, bytes.NewReader([]byte("chunk"))); err != nil {
		t.Fatal(err)
	}

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
