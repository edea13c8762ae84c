package index_test

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/index/indextest"
	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
)

// fixture builds the fixture registry on the filesystem store, or, with
// LAYERLAB_INDEX_DRIVER=s3 (scripts/s3-test.sh), on a real S3 server: the
// same hand-computed answers must come from either.
func fixture(t *testing.T) (*storage.Store, *indextest.Fixture, *sql.DB) {
	t.Helper()
	opts := storage.Options{NoSync: true}
	if os.Getenv("LAYERLAB_INDEX_DRIVER") == "s3" {
		opts.Driver = registrytest.S3(t, "index")()
	}
	s, err := storage.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f := indextest.Build(t, s)
	return s, f, indextest.SQL(t, s)
}

// rows runs a query and returns its rows as strings joined by "|".
func rows(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	_, vals, err := index.Query(db, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var out []string
	for _, r := range vals {
		out = append(out, row(r...))
	}
	return out
}

func sorted(s []string) []string { sort.Strings(s); return s }

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func row(vals ...any) string {
	var parts []string
	for _, v := range vals {
		if v == nil {
			v = "NULL"
		}
		parts = append(parts, fmt.Sprint(v))
	}
	return strings.Join(parts, "|")
}

func TestTables(t *testing.T) {
	t.Parallel()
	s, f, db := fixture(t)
	check(t, "repositories", rows(t, db, "SELECT name FROM repositories ORDER BY name"),
		[]string{"lab/app", "lab/base", "lab/multi", "lab/tool"})
	check(t, "tags", rows(t, db, "SELECT repository, tag, digest FROM tags ORDER BY 1, 2"), []string{
		row("lab/app", 1, f.Derived.Digest), row("lab/base", 1, f.Base.Digest),
		row("lab/multi", 1, f.Index.Digest), row("lab/tool", 1, f.Sibling.Digest)})
	check(t, "manifests", rows(t, db, "SELECT digest, kind, size, coalesce(subject, ''), coalesce(platform, ''), layers FROM manifests ORDER BY digest"),
		sorted([]string{
			row(f.Old.Digest, "image", f.Old.Size, "", "linux/amd64", 1),
			row(f.Base.Digest, "image", f.Base.Size, "", "linux/amd64", 2),
			row(f.Derived.Digest, "image", f.Derived.Size, "", "linux/amd64", 3),
			row(f.Sibling.Digest, "image", f.Sibling.Size, "", "linux/arm64", 3),
			row(f.Index.Digest, "index", f.Index.Size, "", "", 0),
			row(f.SBOM.Digest, "artifact", f.SBOM.Size, f.Derived.Digest, "", 1),
		}))
	check(t, "created", rows(t, db, "SELECT DISTINCT created FROM manifests WHERE kind = 'image'"), []string{"2026-01-02T03:04:05Z"})
	check(t, "index children", rows(t, db, "SELECT position, digest, platform FROM manifest_blobs WHERE role = 'child' ORDER BY position"),
		[]string{row(0, f.Derived.Digest, "linux/amd64"), row(1, f.Sibling.Digest, "linux/arm64")})
	check(t, "derived's blobs", rows(t, db, fmt.Sprintf("SELECT role, position, digest, size FROM manifest_blobs WHERE manifest = '%s' ORDER BY role, position", f.Derived.Digest)),
		[]string{row("config", 0, f.Derived.Config.Digest, f.Derived.Config.Size), row("layer", 0, f.L1.Digest, indextest.SizeL1),
			row("layer", 1, f.L2.Digest, indextest.SizeL2), row("layer", 2, f.L3.Digest, indextest.SizeL3)})
	// History skips the empty CMD step: layer 1 was made by RUN.
	check(t, "history", rows(t, db, fmt.Sprintf("SELECT position, created_by FROM history WHERE manifest = '%s' ORDER BY position", f.Derived.Digest)),
		[]string{row(0, indextest.StepL1), row(1, indextest.StepL2), row(2, indextest.StepL3)})
	check(t, "links of L1", rows(t, db, fmt.Sprintf("SELECT repository FROM blob_links WHERE digest = '%s' ORDER BY 1", f.L1.Digest)),
		[]string{"lab/app", "lab/base", "lab/multi", "lab/tool"})
	check(t, "referrers", rows(t, db, "SELECT repository, subject, referrer, artifact_type FROM referrers"),
		[]string{row("lab/app", f.Derived.Digest, f.SBOM.Digest, "application/vnd.example.sbom")})
	check(t, "blob Z", rows(t, db, fmt.Sprintf("SELECT size FROM blobs WHERE digest = '%s'", f.Z.Digest)), []string{"7"})
	check(t, "uploads", rows(t, db, "SELECT count(*) FROM uploads"), []string{"0"})

	if _, err := s.StartUpload(t.Context(), "lab/app", digest.SHA256); err != nil {
		t.Fatal(err)
	}
	check(t, "uploads", rows(t, indextest.SQL(t, s), "SELECT repository, size FROM uploads"), []string{"lab/app|0"})
}

func TestViews(t *testing.T) {
	t.Parallel()
	s, f, db := fixture(t)
	imageBytes := func(img indextest.Image) int64 {
		n := img.Config.Size
		for _, l := range img.Layers {
			n += l.Size
		}
		return n
	}
	check(t, "images", rows(t, db, "SELECT repository, digest, coalesce(tags, ''), layers, platform, bytes FROM images ORDER BY 1, 2"),
		sorted([]string{
			row("lab/app", f.Derived.Digest, "1", 3, "linux/amd64", imageBytes(f.Derived)),
			row("lab/base", f.Base.Digest, "1", 2, "linux/amd64", imageBytes(f.Base)),
			row("lab/base", f.Old.Digest, "", 1, "linux/amd64", imageBytes(f.Old)),
			row("lab/multi", f.Derived.Digest, "", 3, "linux/amd64", imageBytes(f.Derived)),
			row("lab/multi", f.Sibling.Digest, "", 3, "linux/arm64", imageBytes(f.Sibling)),
			row("lab/tool", f.Sibling.Digest, "1", 3, "linux/arm64", imageBytes(f.Sibling)),
		}))
	// L1: old, base, derived, sibling; L2: base, derived, sibling. Both
	// are linked by the four repositories.
	check(t, "shared_layers", rows(t, db, "SELECT digest, size, images, repositories FROM shared_layers ORDER BY size DESC"),
		[]string{row(f.L1.Digest, 1000, 4, 4), row(f.L2.Digest, 200, 3, 4)})
	check(t, "built_on", rows(t, db, "SELECT image, base, shared_layers FROM built_on ORDER BY 1, 2"), sorted([]string{
		row(f.Derived.Digest, f.Base.Digest, 2), row(f.Sibling.Digest, f.Base.Digest, 2),
		row(f.Base.Digest, f.Old.Digest, 1), row(f.Derived.Digest, f.Old.Digest, 1), row(f.Sibling.Digest, f.Old.Digest, 1)}))
	check(t, "built on base", rows(t, db, fmt.Sprintf("SELECT image FROM built_on WHERE base = '%s' ORDER BY 1", f.Base.Digest)),
		sorted([]string{f.Derived.Digest.String(), f.Sibling.Digest.String()}))
	check(t, "largest_layers", rows(t, db, "SELECT digest, size, images, coalesce(created_by, '') FROM largest_layers"), []string{
		row(f.L1.Digest, 1000, 4, indextest.StepL1), row(f.L2.Digest, 200, 3, indextest.StepL2),
		row(f.S.Digest, 50, 1, ""), row(f.L3.Digest, 30, 1, indextest.StepL3), row(f.L4.Digest, 4, 1, indextest.StepL4)})
	check(t, "gc_untagged_manifests", rows(t, db, "SELECT repository, digest FROM gc_untagged_manifests"),
		[]string{row("lab/base", f.Old.Digest)})
	check(t, "gc_unreferenced_blobs", rows(t, db, "SELECT digest, size FROM gc_unreferenced_blobs"),
		[]string{row(f.Z.Digest, indextest.SizeZ)})
	// Copies deduplication avoids: L1 three times (four repositories link
	// it), L2 three times, L3 and L4 once (lab/multi), and lab/multi's
	// copies of derived's and sibling's manifests and configs.
	saved := int64(3*1000+3*200+30+4) + f.Derived.Size + f.Sibling.Size + f.Derived.Config.Size + f.Sibling.Config.Size
	got := rows(t, db, "SELECT saved_bytes, logical_bytes - stored_bytes FROM dedup")
	check(t, "dedup", got, []string{row(saved, saved)})

	// The same answers from the store's own reports.
	u, err := s.DiskUsage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	check(t, "dedup vs du", rows(t, db, "SELECT saved_bytes, logical_bytes, stored_bytes FROM dedup"),
		[]string{row(u.DedupSavedBytes, u.LogicalBytes, u.ReferencedBytes)})
	gc, err := s.GC(t.Context(), storage.GCOptions{DryRun: true, DeleteUntagged: true})
	if err != nil {
		t.Fatal(err)
	}
	var fromGC []string
	for _, m := range gc.DeletedManifests {
		fromGC = append(fromGC, row(m.Repository, m.Digest))
	}
	check(t, "gc --delete-untagged --dry-run", rows(t, db, "SELECT repository, digest FROM gc_untagged_manifests"), fromGC)
	gc, err = s.GC(t.Context(), storage.GCOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	fromGC = nil
	for _, b := range gc.DeletedBlobs {
		fromGC = append(fromGC, row(b.Digest, b.Size))
	}
	check(t, "gc --dry-run", rows(t, db, "SELECT digest, size FROM gc_unreferenced_blobs ORDER BY digest"), fromGC)
}

func TestFamilyAndBlobUsers(t *testing.T) {
	t.Parallel()
	s, f, _ := fixture(t)
	snap, err := index.Build(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	rel := func(rs []index.Relative) []string {
		var out []string
		for _, r := range rs {
			out = append(out, row(r.Image.Digest, r.SharedLayers))
		}
		return out
	}
	m, _ := snap.Manifest(nil, f.Base.Digest)
	bases, derived := snap.Family(nil, m)
	check(t, "bases of base", rel(bases), []string{row(f.Old.Digest, 1)})
	check(t, "built on base", rel(derived), sorted([]string{row(f.Derived.Digest, 2), row(f.Sibling.Digest, 2)}))
	m, _ = snap.Manifest(nil, f.Derived.Digest)
	bases, derived = snap.Family(nil, m)
	check(t, "bases of derived, nearest first", rel(bases), []string{row(f.Base.Digest, 2), row(f.Old.Digest, 1)})
	check(t, "built on derived", rel(derived), nil)
	onlyTool := index.Visible(func(r string) bool { return r == "lab/tool" })
	m, _ = snap.Manifest(onlyTool, f.Sibling.Digest)
	bases, _ = snap.Family(onlyTool, m)
	check(t, "bases the caller may see", rel(bases), nil)
	if _, ok := snap.Manifest(onlyTool, f.Base.Digest); ok {
		t.Error("base is visible to a caller who may pull lab/tool only")
	}

	users := func(v index.Visible, d digest.Digest) []string {
		var out []string
		for _, u := range snap.BlobUsers(v, d) {
			out = append(out, row(u.Manifest.Digest, u.Role, u.Position))
		}
		return out
	}
	check(t, "users of L2", users(nil, f.L2.Digest), sorted([]string{
		row(f.Base.Digest, "layer", 1), row(f.Derived.Digest, "layer", 1), row(f.Sibling.Digest, "layer", 1)}))
	check(t, "users of L2 seen from lab/tool", users(onlyTool, f.L2.Digest), []string{row(f.Sibling.Digest, "layer", 1)})
	check(t, "users of the config", users(nil, f.Base.Config.Digest), []string{row(f.Base.Digest, "config", 0)})
	check(t, "users of Z", users(nil, f.Z.Digest), nil)
}

func TestCacheFollowsGeneration(t *testing.T) {
	t.Parallel()
	s, f, _ := fixture(t)
	c := index.NewCache(s)
	a, err := c.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.Get(t.Context()); b != a || c.Builds() != 1 {
		t.Fatalf("no write, yet rebuilt (%d builds)", c.Builds())
	}
	// Another process on the same root writes: this cache sees it.
	other, err := storage.Open(s.Root(), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Tag(t.Context(), "lab/tool", "2", f.Sibling.Digest); err != nil {
		t.Fatal(err)
	}
	b, err := c.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if b == a || !reflect.DeepEqual(b.Tags("lab/tool", f.Sibling.Digest), []string{"1", "2"}) {
		t.Fatalf("tag written by another process not seen: %v", b.Tags("lab/tool", f.Sibling.Digest))
	}
	for _, write := range []func() error{
		func() error { return other.DeleteTag(t.Context(), "lab/tool", "2") },
		func() error { return other.DeleteManifest(t.Context(), "lab/base", f.Old.Digest) },
		func() error { return other.DeleteBlob(t.Context(), "lab/base", f.Z.Digest) },
		func() error { return other.LinkBlob(t.Context(), "lab/tool", f.Z.Digest) },
		func() error { _, err := other.GC(t.Context(), storage.GCOptions{}); return err },
	} {
		before := c.Builds()
		if err := write(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(t.Context()); err != nil || c.Builds() != before+1 {
			t.Fatalf("write not seen: %v, %d builds", err, c.Builds())
		}
	}
}

func TestExportOpensInSQLite3(t *testing.T) {
	t.Parallel()
	s, f, _ := fixture(t)
	snap, err := index.Build(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "registry.db")
	if err := index.Export(snap, path); err != nil {
		t.Fatal(err)
	}
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("sqlite3 not installed (bash scripts/tools.sh installs it)")
	}
	out, err := exec.Command(sqlite3, path, "SELECT base FROM built_on WHERE image = '"+f.Derived.Digest.String()+"' ORDER BY shared_layers DESC").CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3: %v: %s", err, out)
	}
	if want := f.Base.Digest.String() + "\n" + f.Old.Digest.String() + "\n"; string(out) != want {
		t.Errorf("sqlite3 answered %q, want %q", out, want)
	}
}
