package storage_test

import (
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
)

// TestTally: blobs known by their sha256 bytes and by other digests count
// alike: exclusive to one repository, shared by two, or unreferenced; a
// reference to a blob not on disk, or a second one from one repository,
// counts for nothing; a blob told twice keeps its first size.
func TestTally(t *testing.T) {
	a, b := digest.FromString("a"), digest.FromString("b")
	long := digest.SHA512.FromString("c")
	upper := digest.Digest("sha256:" + "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789")
	loose := digest.FromString("loose")
	tl := storage.NewTally()
	tl.Blob(a, 10)
	tl.Blob(a, 99) // told again: keeps 10
	tl.Blob(b, 200)
	tl.Blob(long, 3000)
	tl.Blob(upper, 40000)
	tl.Blob(loose, 500000)
	tl.Repo(storage.RepoUsage{Name: "x"}, []digest.Digest{a, b, a, long, digest.FromString("missing")})
	tl.Repo(storage.RepoUsage{Name: "w"}, []digest.Digest{b, upper})
	u := tl.Usage()
	if len(u.Repositories) != 2 || u.Repositories[0].Name != "w" || u.Repositories[1].Name != "x" {
		t.Fatalf("rows %+v: want w, x", u.Repositories)
	}
	w, x := u.Repositories[0], u.Repositories[1]
	if x.Blobs != 3 || x.LogicalBytes != 3210 || x.ExclusiveBytes != 3010 {
		t.Errorf("x: %+v; want 3 blobs, 3210 logical, 3010 exclusive bytes", x)
	}
	if w.Blobs != 2 || w.LogicalBytes != 40200 || w.ExclusiveBytes != 40000 {
		t.Errorf("w: %+v; want 2 blobs, 40200 logical, 40000 exclusive bytes", w)
	}
	if u.Blobs != 5 || u.PhysicalBytes != 543210 || u.ReferencedBytes != 43210 || u.UnreferencedBytes != 500000 ||
		u.SharedBlobs != 1 || u.SharedBytes != 200 || u.LogicalBytes != 43410 || u.DedupSavedBytes != 200 {
		t.Errorf("usage %+v", *u)
	}
}
