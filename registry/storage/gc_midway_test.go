package storage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
)

// TestGCKeepsWhatIsReferencedMidway: a manifest stored by another process
// between a collection's mark and its sweep, referencing blobs and a
// manifest that were garbage until then, keeps them — on S3 too, where a
// blob's date cannot change and the collector sees no lock of the pusher.
func TestGCKeepsWhatIsReferencedMidway(t *testing.T) {
	onEveryDriver(t, func(t *testing.T, newDriver func() driver.Driver) {
		ctx := t.Context()
		pusher, collector := openOn(t, newDriver()), openOn(t, newDriver())
		im := putImage(t, pusher, "lab/app", "v1", nil)
		old := putImage(t, pusher, "lab/old", "v1", nil)
		for _, i := range []struct {
			repo string
			d    digest.Digest
		}{{"lab/app", im.d}, {"lab/old", old.d}} {
			if err := pusher.DeleteManifest(ctx, i.repo, i.d); err != nil { // its blobs become garbage
				t.Fatal(err)
			}
		}
		time.Sleep(1100 * time.Millisecond) // older than the grace below (S3 dates to the second)
		hooked := false
		storage.SetGCHook(collector, func(event string) {
			if event != "marked" {
				return
			}
			hooked = true
			// The client knows the blobs are there (it pushed them): no HEAD.
			if _, _, err := pusher.PutManifest(ctx, "lab/app", "v2", storage.MediaTypeOCIManifest, im.body, nil); err != nil {
				t.Errorf("push during the collection: %v", err)
			}
			// And a repository the collection has not seen mounts the others.
			for _, d := range []digest.Digest{old.cfg, old.layer} {
				if ok, err := pusher.Mount(ctx, "lab/fresh", "lab/old", d); !ok || err != nil {
					t.Errorf("mount %s: %v %v", d, ok, err)
				}
			}
			if _, _, err := pusher.PutManifest(ctx, "lab/fresh", "v1", storage.MediaTypeOCIManifest, old.body, nil); err != nil {
				t.Errorf("push into a new repository during the collection: %v", err)
			}
		})
		res, err := collector.GC(ctx, storage.GCOptions{Grace: time.Second})
		if err != nil || !hooked {
			t.Fatalf("collection: %v (hook reached: %v)", err, hooked)
		}
		for _, repo := range []string{"lab/app:v2", "lab/fresh:v1"} {
			name, tag, _ := strings.Cut(repo, ":")
			if _, _, _, err := pusher.GetManifest(ctx, name, tag); err != nil {
				t.Errorf("%s, pushed during the collection: %v", repo, err)
			}
		}
		for _, d := range []digest.Digest{im.cfg, im.layer, im.d, old.cfg, old.layer, old.d} {
			if !blobStored(t, newDriver(), d) {
				t.Errorf("blob %s, referenced by a manifest pushed during the collection, was swept (deleted: %v)", d, res.DeletedBlobs)
			}
		}
	})
}
