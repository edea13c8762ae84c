package storage_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// failingLists is a driver whose listings of revision links fail while
// broken is set, as an S3 listing that times out does.
type failingLists struct {
	driver.Driver
	broken atomic.Bool
}

func (f *failingLists) List(ctx context.Context, prefix string, opts driver.ListOptions, fn func(driver.Entry) error) error {
	if f.broken.Load() && strings.Contains(prefix, "/_manifests/revisions") {
		return errors.New("listing timed out")
	}
	return f.Driver.List(ctx, prefix, opts, fn)
}

// TestGCStopsOnAFailedListing: a repository whose manifests cannot be
// listed is neither taken for empty nor swept — the collection fails and
// the image stays whole, tagged or not.
func TestGCStopsOnAFailedListing(t *testing.T) {
	d := &failingLists{Driver: memory.New()}
	s, err := storage.Open("", storage.Options{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	tagged := putImage(t, s, "lab/base", "1.0", nil)
	untagged := putImage(t, s, "lab/base", "", nil)
	d.broken.Store(true)
	for _, opts := range []storage.GCOptions{{}, {DeleteUntagged: true}} {
		if _, err := s.GC(t.Context(), opts); err == nil {
			t.Errorf("gc %+v succeeded although the manifests could not be listed", opts)
		}
	}
	d.broken.Store(false)
	for _, im := range []image{tagged, untagged} {
		if err := whole(s, "lab/base", im); err != nil {
			t.Errorf("image %s damaged by a collection that could not list: %v", im.d, err)
		}
	}
}
