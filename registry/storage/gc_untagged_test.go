package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
)

// image is a manifest stored in a test repository, with its two blobs.
type image struct {
	d, cfg, layer digest.Digest
	body          []byte
}

// putImage stores a config, a layer and a manifest over them (with a
// subject when subject is not nil) under ref, a tag or "" for by digest.
func putImage(t *testing.T, s *storage.Store, repo, ref string, subject *image) image {
	t.Helper()
	im := stageImage(t, s, repo, subject)
	if ref == "" {
		ref = im.d.String()
	}
	if _, _, err := s.PutManifest(t.Context(), repo, ref, storage.MediaTypeOCIManifest, im.body, nil); err != nil {
		t.Fatal(err)
	}
	return im
}

// stageImage pushes the blobs of a new image and returns it, its manifest
// not pushed.
func stageImage(t *testing.T, s *storage.Store, repo string, subject *image) image {
	t.Helper()
	cfg, layer := registrytest.RandomBytes(t, 64), registrytest.RandomBytes(t, 256)
	im := image{cfg: digest.FromBytes(cfg), layer: digest.FromBytes(layer)}
	for _, b := range [][]byte{cfg, layer} {
		if _, err := s.PutBlob(t.Context(), repo, digest.FromBytes(b), int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	im.body = manifest(im.cfg, im.layer, 64, 256, "x")
	if subject != nil {
		im.body = bytes.Replace(im.body, []byte(`"annotations"`), fmt.Appendf(nil,
			`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":%d},"annotations"`,
			subject.d, len(subject.body)), 1)
	}
	im.d = digest.FromBytes(im.body)
	return im
}

// indexOver is an image index listing the given manifests.
func indexOver(children ...image) []byte {
	var list [][]byte
	for _, c := range children {
		list = append(list, fmt.Appendf(nil, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":%d}`, c.d, len(c.body)))
	}
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}`, bytes.Join(list, []byte(",")))
}

// whole reports what is missing of a stored image: the manifest, its blobs.
func whole(s *storage.Store, repo string, im image) error {
	if _, _, _, err := s.GetManifest(context.Background(), repo, im.d.String()); err != nil {
		return err
	}
	for _, b := range []digest.Digest{im.cfg, im.layer} {
		if _, err := s.StatBlob(context.Background(), repo, b); err != nil {
			return err
		}
	}
	return nil
}

func revisionFile(root, repo string, d digest.Digest) string {
	return filepath.Join(root, "repositories", repo, "_manifests", "revisions", "sha256", d.Encoded())
}

// TestGCUntaggedRechecksUnderTheLock: manifests listed as untagged become
// needed while the collection runs — a tagged index over one, a tag on the
// subject of another — and a tagged referrer needs its subject. None of
// them, nor their blobs, may go.
func TestGCUntaggedRechecksUnderTheLock(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := open(t, root)
	const repo = "lab/r"
	child := putImage(t, s, repo, "", nil)
	subject := putImage(t, s, repo, "", nil)
	referrer := putImage(t, s, repo, "", &subject)
	signed := putImage(t, s, repo, "", nil)
	signature := putImage(t, s, repo, "sig", &signed) // tagged referrer of an untagged manifest
	junk := putImage(t, s, repo, "", nil)
	ageAll(t, root)

	var index digest.Digest
	hooked := false
	storage.SetGCHook(s, func(event string) {
		if event != "untagged-listed" || hooked {
			return
		}
		hooked = true
		// Pushed while the collection runs, after it listed the untagged.
		d, _, err := s.PutManifest(t.Context(), repo, "latest", storage.MediaTypeOCIIndex, indexOver(child), nil)
		if err != nil {
			t.Error(err)
			return
		}
		index = d
		age(t, revisionFile(root, repo, d)) // only its tag keeps it, not its age
		if _, _, err := s.PutManifest(t.Context(), repo, "subject", storage.MediaTypeOCIManifest, subject.body, nil); err != nil {
			t.Error(err)
		}
	})
	res, err := s.GC(t.Context(), storage.GCOptions{DeleteUntagged: true, Grace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !hooked {
		t.Fatal("the collection never listed untagged manifests")
	}
	if len(res.DeletedManifests) != 1 || res.DeletedManifests[0].Digest != junk.d {
		t.Errorf("deleted %v, want only the junk image %s", res.DeletedManifests, junk.d)
	}
	for what, im := range map[string]image{"child of the tagged index": child, "subject tagged meanwhile": subject,
		"its referrer": referrer, "subject of a tagged referrer": signed, "the tagged referrer": signature} {
		if err := whole(s, repo, im); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	if _, _, _, err := s.GetManifest(t.Context(), repo, "latest"); err != nil || index == "" {
		t.Errorf("the index tagged latest: %v", err)
	}
	if err := whole(s, repo, junk); err == nil {
		t.Error("the junk image survived")
	}
}

// TestGCUntaggedDeletesInBatches: the deletion of many untagged manifests
// takes the exclusive lock batch by batch, and a push completes between
// two batches.
func TestGCUntaggedDeletesInBatches(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	const repo, many = "lab/many", 300
	base := putImage(t, s, repo, "base", nil)
	for i := 0; i < many; i++ {
		body := manifest(base.cfg, base.layer, 64, 256, fmt.Sprint(i))
		if _, _, err := s.PutManifest(t.Context(), repo, digest.FromBytes(body).String(), storage.MediaTypeOCIManifest, body, nil); err != nil {
			t.Fatal(err)
		}
	}
	ageAll(t, root)
	batches, pushed := 0, 0
	storage.SetGCHook(s, func(event string) {
		if event != "untagged-batch" {
			return
		}
		batches++
		done := make(chan error, 1)
		go func() { // from another goroutine, as a client's push would come
			_, _, err := s.PutManifest(t.Context(), repo, fmt.Sprintf("during-%d", batches), storage.MediaTypeOCIManifest, base.body, nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
			pushed++
		case <-time.After(30 * time.Second): // a guard against a hang, not a measurement
			t.Error("a push stayed blocked between two batches of deletions")
		}
	})
	res, err := s.GC(t.Context(), storage.GCOptions{DeleteUntagged: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DeletedManifests) != many {
		t.Errorf("%d manifests deleted, want %d", len(res.DeletedManifests), many)
	}
	if want := (many + 127) / 128; batches != want || pushed != batches {
		t.Errorf("%d batches with %d pushes between them, want %d batches and a push after each", batches, pushed, want)
	}
	if err := whole(s, repo, base); err != nil {
		t.Errorf("the tagged image: %v", err)
	}
	if _, err := os.Stat(revisionFile(root, repo, base.d)); err != nil {
		t.Error(err)
	}
}

// A negative grace would put the cutoff in the future and sweep what was
// just pushed: it is refused.
func TestGCRefusesNegativeGrace(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir())
	b := registrytest.RandomBytes(t, 100)
	d := digest.FromBytes(b)
	if _, err := s.PutBlob(t.Context(), "lab/x", d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(t.Context(), storage.GCOptions{Grace: -time.Hour}); err == nil {
		t.Error("a negative grace was accepted")
	}
	if _, ok := s.BlobSize(t.Context(), d); !ok {
		t.Error("a blob pushed just now was swept")
	}
}
