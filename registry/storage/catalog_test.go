package storage_test

import (
	"bytes"
	"slices"
	"sort"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver/memory"
)

// TestCatalogPages: every page size and every starting point give the
// repositories in lexical order, for names where the tree's order differs
// ("lab-x" and "lab.y" sort between "lab" and "lab/base"), on the
// filesystem and on the memory driver.
func TestCatalogPages(t *testing.T) {
	names := []string{"a", "lab", "lab-x", "lab--q", "lab.y", "lab/base", "lab/base/sub", "lab/base-2", "lab-x/a",
		"lab_z", "lab/c.d/e", "z", "z/z-z"}
	fs := open(t, t.TempDir())
	mem, err := storage.Open("", storage.Options{Driver: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*storage.Store{"filesystem": fs, "memory": mem} {
		t.Run(name, func(t *testing.T) {
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
		})
	}
}
