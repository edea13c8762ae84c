package storage_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// catalogOf pages the whole catalog, two at a time.
func catalogOf(t *testing.T, s *storage.Store) []string {
	t.Helper()
	all := []string{}
	for last := ""; ; {
		page, more, err := s.Catalog(t.Context(), last, 2)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if !more {
			return all
		}
		last = page[len(page)-1]
	}
}

// TestCatalogIndexEntries: a repository's first manifest makes its entry
// (a file a learner can see, named so that the directory sorts as the
// catalog), a second manifest and the removal of one of two leave it, the
// removal of the last removes it.
func TestCatalogIndexEntries(t *testing.T) {
	root := t.TempDir()
	s := open(t, root)
	entry := filepath.Join(root, "catalog", "lab.app,x-y")
	if _, err := os.Stat(filepath.Join(root, "catalog.ready")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("opening a new store wrote to it: %v", err)
	}
	first := putImage(t, s, "lab/app-x.y", "v1", nil)
	if _, err := os.Stat(filepath.Join(root, "catalog.ready")); err != nil {
		t.Fatalf("a new store is not marked indexed by its first manifest: %v", err)
	}
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("no entry after the first manifest: %v", err)
	}
	second := putImage(t, s, "lab/app-x.y", "v2", nil)
	if err := s.DeleteManifest(t.Context(), "lab/app-x.y", first.d); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("entry gone with a manifest left: %v", err)
	}
	if got := catalogOf(t, s); !slices.Equal(got, []string{"lab/app-x.y"}) {
		t.Fatalf("catalog %v", got)
	}
	if err := s.DeleteManifest(t.Context(), "lab/app-x.y", second.d); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(entry); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("entry left after the last manifest: %v", err)
	}
	if got := catalogOf(t, s); len(got) != 0 {
		t.Fatalf("catalog %v after the last manifest went", got)
	}
}

// failingRevisions fails every write of a revision link, and records the
// order of the writes it sees.
type failingRevisions struct {
	driver.Driver
	mu   sync.Mutex
	puts []string
}

func (f *failingRevisions) Put(ctx context.Context, key string, r io.Reader, opts driver.PutOptions) (int64, error) {
	f.mu.Lock()
	f.puts = append(f.puts, key)
	f.mu.Unlock()
	if strings.Contains(key, "/_manifests/revisions/") {
		return 0, errors.New("disk full")
	}
	return f.Driver.Put(ctx, key, r, opts)
}

// TestCatalogIndexEntryBeforeManifest: the entry is written before the
// manifest's link (a crash between them leaves an entry too many, never a
// repository missing), and a push that fails leaves no entry.
func TestCatalogIndexEntryBeforeManifest(t *testing.T) {
	d := &failingRevisions{Driver: memory.New()}
	s := onDriver(t, d)
	im := stageImage(t, s, "lab/app", nil)
	if _, _, err := s.PutManifest(t.Context(), "lab/app", "v1", storage.MediaTypeOCIManifest, im.body, nil); err == nil {
		t.Fatal("a push whose manifest link fails succeeded")
	}
	entryAt := slices.Index(d.puts, "catalog/lab.app")
	revAt := slices.IndexFunc(d.puts, func(k string) bool { return strings.Contains(k, "/_manifests/revisions/") })
	if entryAt < 0 || revAt < 0 || entryAt > revAt {
		t.Fatalf("writes %v: the entry must come before the revision link", d.puts)
	}
	if _, err := d.Stat(t.Context(), "catalog/lab.app"); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("entry of a failed push left: %v", err)
	}
	if got := catalogOf(t, s); len(got) != 0 {
		t.Fatalf("catalog %v after a failed push", got)
	}
}

// TestCatalogIndexBuiltAndReconciled: a tree an earlier build wrote (no
// index) is listed by walking it until a starting registry indexes it; a
// garbage collection then mends an index that hands made wrong.
func TestCatalogIndexBuiltAndReconciled(t *testing.T) {
	root := t.TempDir()
	s := open(t, root)
	names := []string{"a", "lab", "lab-x", "lab.y", "lab/base", "lab/base/sub", "z/z-z"}
	for _, n := range names {
		putImage(t, s, n, "v1", nil)
	}
	for _, p := range []string{"catalog", "catalog.ready"} {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	old := open(t, root)
	if old.CatalogIndexed() {
		t.Fatal("a tree without an index is taken as indexed")
	}
	if got := catalogOf(t, old); !slices.Equal(got, names) {
		t.Fatalf("catalog walked from the tree %v, want %v", got, names)
	}
	if n, err := old.WarmCatalog(t.Context()); err != nil || n != len(names) {
		t.Fatalf("index built: %d, %v; want %d", n, err, len(names))
	}
	if !open(t, root).CatalogIndexed() {
		t.Fatal("a store indexed is not marked so for the next process")
	}
	if got := catalogOf(t, old); !slices.Equal(got, names) {
		t.Fatalf("catalog from the built index %v, want %v", got, names)
	}

	// By hand: a repository removed, another's entry removed.
	if err := os.RemoveAll(filepath.Join(root, "repositories", "lab.y")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "catalog", "lab,x")); err != nil {
		t.Fatal(err)
	}
	if got := catalogOf(t, old); slices.Equal(got, names) {
		t.Fatal("the index follows changes made by hand: this test shows nothing")
	}
	if _, err := old.GC(t.Context(), storage.GCOptions{}); err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "lab.y" })
	if got := catalogOf(t, old); !slices.Equal(got, want) {
		t.Fatalf("catalog after gc %v, want %v", got, want)
	}
}
