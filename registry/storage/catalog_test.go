package storage_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// TestCatalogPages: every page size and every starting point give the
// repositories in lexical order, for names where the tree's order differs
// ("lab-x" and "lab.y" sort between "lab" and "lab/base"), on the
// filesystem and on the memory driver.
func TestCatalogPages(t *testing.T) {
	names := []string{"a", "lab", "lab-x", "lab--q", "lab.y", "lab/base", "lab/base/sub", "lab/base-2", "lab-x/a",
		"lab_z", "lab/c.d/e", "z", "z/z-z"}
	stores := map[string]func(t *testing.T) *storage.Store{
		"filesystem": func(t *testing.T) *storage.Store { return open(t, t.TempDir()) },
		"memory":     func(t *testing.T) *storage.Store { return onDriver(t, memory.New()) },
		"s3":         func(t *testing.T) *storage.Store { return onDriver(t, registrytest.S3(t, "catalog")()) },
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			for _, n := range names {
				putImage(t, s, n, "v1", nil)
			}
			b := []byte("only a blob")
			if _, err := s.PutBlob(t.Context(), "lab/blobs-only", digest.FromBytes(b), int64(len(b)), bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(names)
			sort.Strings(want)
			if got, err := s.Repositories(t.Context()); err != nil || !slices.Equal(got, want) {
				t.Fatalf("repositories %v, %v; want %v", got, err, want)
			}
			if !s.CatalogIndexed() {
				t.Fatal("a new store has no whole catalog index")
			}
			checkPages(t, s, want) // from the index
			storage.ForgetCatalogIndex(s)
			checkPages(t, s, want) // from the tree
			if n, err := s.WarmCatalog(t.Context()); err != nil || n != len(want) || !s.CatalogIndexed() {
				t.Fatalf("index built: %d repositories, %v, whole %v; want %d", n, err, s.CatalogIndexed(), len(want))
			}
			checkPages(t, s, want)
		})
	}
}

// checkPages pages the catalog of s from every starting point with every
// page size, and wants the names want (sorted) each time.
func checkPages(t *testing.T, s *storage.Store, want []string) {
	t.Helper()
	starts := append([]string{"", "0", "lab-", "lab/", "lab/base/", "la", "zz"}, want...)
	for _, last := range starts {
		after := want[sort.SearchStrings(want, last):]
		if len(after) > 0 && after[0] == last {
			after = after[1:]
		}
		for _, size := range []int{1, 2, 3, 100} {
			got, more, err := s.Catalog(t.Context(), last, size)
			wantPage := after[:min(size, len(after))]
			if err != nil || !slices.Equal(got, wantPage) || more != (len(after) > size) {
				t.Errorf("Catalog(%q, %d) = %v more %v, %v; want %v more %v", last, size, got, more, err, wantPage, len(after) > size)
			}
		}
	}
}

// TestCatalogKeptAnswers: on the filesystem, what catalog pages read per
// repository is kept once its directories have settled, and pages are
// answered from it (hits counted); every change is seen at once all the
// same: a repository nested under a kept one, a repository made in an
// empty directory that was kept as such, the last manifest of a kept
// repository deleted, a kept repository's directory removed, a kept
// repository's link removed with its directory left.
func TestCatalogKeptAnswers(t *testing.T) {
	root := t.TempDir()
	// A tree without a catalog index (an earlier build's): pages walk it.
	if err := os.MkdirAll(filepath.Join(root, "repositories", "lab", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := open(t, root)
	if s.CatalogIndexed() {
		t.Fatal("a tree without an index is taken as indexed")
	}
	names := []string{"a", "lab", "lab-x", "lab.y", "lab/base", "lab/base/sub", "lab/base-2", "lab/c.d/e", "z", "z/z-z"}
	images := map[string]image{}
	for _, n := range names {
		images[n] = putImage(t, s, n, "v1", nil)
	}
	want := slices.Clone(names)
	sort.Strings(want)
	time.Sleep(100 * time.Millisecond) // the directories settle: their answers may be kept
	checkPages(t, s, want)
	before := storage.CatalogHits(s)
	checkPages(t, s, want)
	if hits := storage.CatalogHits(s) - before; hits == 0 {
		t.Fatal("pages of an unchanged store were not answered from what was kept")
	}

	for _, n := range []string{"lab/base/sub/deeper", "lab/empty"} {
		putImage(t, s, n, "v1", nil)
		want = append(want, n)
	}
	sort.Strings(want)
	checkPages(t, s, want)

	time.Sleep(100 * time.Millisecond)
	checkPages(t, s, want) // kept again
	if err := s.DeleteManifest(t.Context(), "lab/base-2", images["lab/base-2"].d); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "repositories", "z", "z-z")); err != nil {
		t.Fatal(err)
	}
	// A link gone with its directory left (a removal cut short before the prune).
	if err := os.Remove(filepath.Join(root, "repositories", "a", "_manifests", "revisions", "sha256", images["a"].d.Encoded())); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(n string) bool { return n == "lab/base-2" || n == "z/z-z" || n == "a" })
	checkPages(t, s, want)
}

func onDriver(t *testing.T, d driver.Driver) *storage.Store {
	t.Helper()
	s, err := storage.Open("", storage.Options{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCatalogLargeDirectory: with more repositories in one directory than
// the filesystem driver lists afresh each time (its sorted entries are
// kept while the directory does not change), every page is what a full
// walk gives, before and after repositories come and go.
func TestCatalogLargeDirectory(t *testing.T) {
	for _, mode := range []string{"index", "tree"} {
		t.Run(mode, func(t *testing.T) { catalogLargeDirectory(t, mode == "tree") })
	}
}

func catalogLargeDirectory(t *testing.T, tree bool) {
	root := t.TempDir()
	s, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if tree {
		storage.ForgetCatalogIndex(s)
	}
	var names []string
	push := func(name string) image {
		names = append(names, name)
		return putImage(t, s, name, "v1", nil)
	}
	var last image
	for i := 0; i < 520; i++ {
		last = push(fmt.Sprintf("big/r%03d", i))
	}
	push("big/r100/sub")
	push("big-x")
	settle := func() { // as if the directory had not changed for a while
		old := time.Now().Add(-time.Minute)
		for _, dir := range []string{"repositories/big", "catalog"} {
			if err := os.Chtimes(filepath.Join(root, dir), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(when string) {
		t.Helper()
		want := slices.Clone(names)
		sort.Strings(want)
		if all, err := s.Repositories(t.Context()); err != nil || !slices.Equal(all, want) {
			t.Fatalf("%s: a full walk gives %d repositories, %v; want %d", when, len(all), err, len(want))
		}
		var got []string
		for page, after := 0, ""; ; page++ {
			repos, more, err := s.Catalog(t.Context(), after, 37)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, repos...)
			if !more {
				break
			}
			after = repos[len(repos)-1]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: the catalog's pages give %d repositories, want %d", when, len(got), len(want))
		}
	}
	settle()
	check("settled")
	check("settled, listed again")
	push("big/r520") // a new entry moves the directory's time
	check("after a push")
	settle()
	check("settled again")
	if err := s.DeleteManifest(t.Context(), "big/r519", last.d); err != nil {
		t.Fatal(err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "big/r519" })
	if _, err := s.GC(t.Context(), storage.GCOptions{}); err != nil { // removes the emptied repository
		t.Fatal(err)
	}
	check("after a repository was removed")
}

// TestCatalogManifestsOfEitherDigest: a repository whose only manifest was
// pushed by its sha512 digest is listed (a sha256 one is looked for first,
// and its absence proves nothing), and one whose manifests were all
// deleted is not, on the filesystem and on the memory driver.
func TestCatalogManifestsOfEitherDigest(t *testing.T) {
	for name, s := range map[string]*storage.Store{"filesystem": open(t, t.TempDir()), "memory": onDriver(t, memory.New())} {
		t.Run(name, func(t *testing.T) {
			putImage(t, s, "lab/a", "v1", nil)
			im := putImage(t, s, "lab/b", "v1", nil) // then by sha512 alone
			if _, _, err := s.PutManifest(t.Context(), "lab/b", digest.SHA512.FromBytes(im.body).String(),
				storage.MediaTypeOCIManifest, im.body, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteManifest(t.Context(), "lab/b", im.d); err != nil {
				t.Fatal(err)
			}
			gone := putImage(t, s, "lab/c", "v1", nil)
			if err := s.DeleteManifest(t.Context(), "lab/c", gone.d); err != nil {
				t.Fatal(err)
			}
			want := []string{"lab/a", "lab/b"}
			if got, _, err := s.Catalog(t.Context(), "", 10); err != nil || !slices.Equal(got, want) {
				t.Errorf("catalog %v, %v; want %v", got, err, want)
			}
			if got, err := s.Repositories(t.Context()); err != nil || !slices.Equal(got, want) {
				t.Errorf("repositories %v, %v; want %v", got, err, want)
			}
		})
	}
}

// TestWarmCatalog: the warm-up keeps the listing of a large directory of
// repositories below a namespace. Seen from outside: an entry added while
// the directory's time is then set back, a change its time cannot show, is
// missing from the listing kept, and present in a first read.
func TestWarmCatalog(t *testing.T) {
	for _, warm := range []bool{true, false} {
		t.Run(fmt.Sprint("warm=", warm), func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "repositories", "lab", "big")
			for i := range 600 {
				if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("r%03d", i), "_layers"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			s := open(t, root) // a tree without an index: the warm-up reads it
			if s.CatalogIndexed() {
				t.Fatal("a store holding repositories but no index is taken as indexed")
			}
			old := time.Now().Add(-time.Minute)
			if err := os.Chtimes(dir, old, old); err != nil {
				t.Fatal(err)
			}
			if warm {
				s.WarmCatalog(t.Context())
			}
			if err := os.MkdirAll(filepath.Join(dir, "zzz", "_layers"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(dir, old, old); err != nil {
				t.Fatal(err)
			}
			seen := false
			err := s.Driver().List(t.Context(), "repositories/lab/big/", driver.ListOptions{StartAfter: "repositories/lab/big/r599/"},
				func(e driver.Entry) error {
					seen = seen || e.Key == "repositories/lab/big/zzz/"
					return nil
				})
			if err != nil || seen == warm {
				t.Fatalf("zzz listed: %v, %v; want %v", seen, err, !warm)
			}
		})
	}
}

// TestWalksLeaveManifestCache: du and gc read every manifest of the store;
// the cache of recent manifests, which serves pulls, keeps what clients
// read and not what the walks did.
func TestWalksLeaveManifestCache(t *testing.T) {
	s := open(t, t.TempDir())
	var pulled image
	for i := range 20 {
		im := putImage(t, s, fmt.Sprintf("lab/r%d", i), "v1", nil)
		if i == 0 {
			pulled = im
		}
	}
	if _, _, _, err := s.GetManifest(t.Context(), "lab/r0", "v1"); err != nil {
		t.Fatal(err)
	}
	before := storage.CachedManifests(s)
	if _, err := s.DiskUsage(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(t.Context(), storage.GCOptions{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if after := storage.CachedManifests(s); after != before {
		t.Fatalf("%d manifests cached after du and gc, %d before", after, before)
	}
	if body, _, _, err := s.GetManifest(t.Context(), "lab/r0", "v1"); err != nil || !bytes.Equal(body, pulled.body) {
		t.Fatalf("pulled manifest after the walks: %v", err)
	}
}
