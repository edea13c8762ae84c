package storage_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/internal/registrytest"
	"github.com/layerlab/layerlab/registry/storage"
)

// lab is a registry served in-process, with its store at hand.
type lab struct {
	t     *testing.T
	url   string
	root  string
	store *storage.Store
	reg   *registrytest.Registry
}

func newLab(t *testing.T, root string) *lab {
	t.Helper()
	r := registrytest.New(t, registrytest.Options{Root: root})
	return &lab{t: t, url: r.URL, root: root, store: r.Store, reg: r}
}

func (l *lab) ref(s string) name.Reference { l.t.Helper(); return l.reg.Ref(l.t, s) }

func (l *lab) push(ref string, img v1.Image) {
	l.t.Helper()
	if err := remote.Write(l.ref(ref), img); err != nil {
		l.t.Fatalf("push %s: %v", ref, err)
	}
}

// pullValid pulls an image by digest and checks every byte of it.
func (l *lab) pullValid(repo string, d v1.Hash) error {
	ref, err := name.NewDigest(strings.TrimPrefix(l.url, "http://")+"/"+repo+"@"+d.String(), name.Insecure)
	if err != nil {
		return err
	}
	img, err := remote.Image(ref)
	if err != nil {
		return err
	}
	return validate.Image(img)
}

// age sets a file's times into the past, as if written long ago.
func age(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func blobFile(root string, d digest.Digest) string {
	return filepath.Join(root, "blobs", d.Algorithm().String(), d.Encoded()[:2], d.Encoded())
}

// ageAll makes every blob and link in the store look old.
func ageAll(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			age(t, path)
		}
		return nil
	})
}

// imageBlobs lists an image's blobs (manifest, config, layers) with sizes.
func imageBlobs(t *testing.T, img v1.Image) map[digest.Digest]int64 {
	t.Helper()
	out := map[digest.Digest]int64{}
	raw, _ := img.RawManifest()
	out[digest.FromBytes(raw)] = int64(len(raw))
	cfg, _ := img.RawConfigFile()
	out[digest.FromBytes(cfg)] = int64(len(cfg))
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		n, _ := l.Size()
		out[digest.Digest(d.String())] = n
	}
	return out
}

// TestGCWhilePushing runs collections back to back while clients push new
// images and images sharing old layers; garbage made beforehand goes, and
// every acknowledged push stays whole.
func TestGCWhilePushing(t *testing.T) {
	t.Parallel()
	l := newLab(t, t.TempDir())
	base, _ := random.Image(64<<10, 2)
	l.push("lab/base:1", base)

	// Garbage: an image whose manifest is deleted, and blobs no manifest references.
	junk, _ := random.Image(32<<10, 2)
	l.push("lab/junk:1", junk)
	jd, _ := junk.Digest()
	if err := remote.Delete(l.ref("lab/junk@" + jd.String())); err != nil {
		t.Fatal(err)
	}
	garbage := imageBlobs(t, junk)
	for i := 0; i < 3; i++ {
		b := registrytest.RandomBytes(t, 10000+i)
		d := digest.FromBytes(b)
		if _, err := l.store.PutBlob(t.Context(), "lab/orphans", d, int64(len(b)), strings.NewReader(string(b))); err != nil {
			t.Fatal(err)
		}
		garbage[d] = int64(len(b))
	}
	var garbageBytes int64
	for _, n := range garbage {
		garbageBytes += n
	}
	ageAll(t, l.root) // everything is old: only marking keeps the base

	before, err := l.store.DiskUsage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dry, err := l.store.GC(t.Context(), storage.GCOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.DeletedBlobs) != len(garbage) || dry.FreedBytes != garbageBytes {
		t.Fatalf("dry run lists %d blobs, %d bytes; want %d blobs, %d bytes", len(dry.DeletedBlobs), dry.FreedBytes, len(garbage), garbageBytes)
	}
	for d := range garbage {
		if _, err := os.Stat(blobFile(l.root, d)); err != nil {
			t.Fatalf("dry run deleted %s", d)
		}
	}

	type pushed struct {
		repo string
		d    v1.Hash
	}
	var mu sync.Mutex
	var acked []pushed
	var failures []error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	remoteBase, err := remote.Image(l.ref("lab/base:1"))
	if err != nil {
		t.Fatal(err)
	}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ { // bounded; stops earlier when told
				select {
				case <-stop:
					return
				default:
				}
				var img v1.Image
				repo := fmt.Sprintf("lab/p%d", w)
				if i%2 == 0 {
					img, _ = random.Image(16<<10, 2)
				} else {
					layer, _ := random.Layer(8<<10, types.DockerLayer)
					img, _ = mutate.AppendLayers(remoteBase, layer) // shares the old base layers
					repo = fmt.Sprintf("lab/derived%d", w)
				}
				d, _ := img.Digest()
				err := remote.Write(l.ref(fmt.Sprintf("%s:%d", repo, i)), img)
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					acked = append(acked, pushed{repo, d})
				}
				mu.Unlock()
			}
		}()
	}
	var collections, swept int
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		res, err := l.store.GC(t.Context(), storage.GCOptions{Grace: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		collections++
		swept += len(res.DeletedBlobs)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d collections during %d acknowledged pushes; %d blobs swept", collections, len(acked), swept)
	if len(failures) > 0 {
		t.Fatalf("%d pushes failed during garbage collection, first: %v", len(failures), failures[0])
	}
	if len(acked) < 8 || collections < 3 {
		t.Fatalf("too little overlap to prove anything: %d pushes, %d collections", len(acked), collections)
	}
	for _, p := range acked {
		if err := l.pullValid(p.repo, p.d); err != nil {
			t.Errorf("%s@%s acknowledged, now broken: %v", p.repo, p.d, err)
		}
	}
	bd, _ := base.Digest()
	if err := l.pullValid("lab/base", bd); err != nil {
		t.Errorf("the base image is broken: %v", err)
	}
	for d := range garbage {
		if _, err := os.Stat(blobFile(l.root, d)); !os.IsNotExist(err) {
			t.Errorf("garbage blob %s still on disk", d)
		}
	}
	// After pushes stop, one more collection leaves exactly what is referenced.
	if _, err := l.store.GC(t.Context(), storage.GCOptions{}); err != nil {
		t.Fatal(err)
	}
	after, err := l.store.DiskUsage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if after.UnreferencedBytes != 0 {
		t.Errorf("%d unreferenced bytes left after the last collection", after.UnreferencedBytes)
	}
	if before.UnreferencedBytes != garbageBytes {
		t.Errorf("before: %d unreferenced bytes, the garbage made is %d", before.UnreferencedBytes, garbageBytes)
	}
}

// TestGCDeleteUntagged removes manifests no tag reaches, and keeps the
// children of a tagged index and the referrers of a tagged index.
func TestGCDeleteUntagged(t *testing.T) {
	t.Parallel()
	l := newLab(t, t.TempDir())
	idx, _ := random.Index(4096, 1, 2)
	if err := remote.WriteIndex(l.ref("lab/multi:1"), idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	idxSize, _ := idx.Size()
	idxManifest, _ := idx.IndexManifest()

	lone, _ := random.Image(4096, 1)
	loneDigest, _ := lone.Digest()
	l.push("lab/multi@"+loneDigest.String(), lone)

	sig, _ := random.Image(512, 1)
	sig = mutate.Subject(sig, v1.Descriptor{MediaType: types.OCIImageIndex, Digest: idxDigest, Size: idxSize}).(v1.Image)
	sigDigest, _ := sig.Digest()
	l.push("lab/multi@"+sigDigest.String(), sig)

	ageAll(t, l.root)
	dry, err := l.store.GC(t.Context(), storage.GCOptions{DeleteUntagged: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.DeletedManifests) != 1 || dry.DeletedManifests[0].Digest.String() != loneDigest.String() {
		t.Fatalf("dry run would delete %v, want only %s", dry.DeletedManifests, loneDigest)
	}
	res, err := l.store.GC(t.Context(), storage.GCOptions{DeleteUntagged: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DeletedManifests) != 1 || len(res.DeletedBlobs) != 3 { // its manifest, config, layer
		t.Fatalf("deleted manifests %v, %d blobs; want the lone image and its 3 blobs", res.DeletedManifests, len(res.DeletedBlobs))
	}
	if err := l.pullValid("lab/multi", loneDigest); err == nil {
		t.Error("the untagged image is still pullable")
	}
	for _, m := range idxManifest.Manifests {
		if err := l.pullValid("lab/multi", m.Digest); err != nil {
			t.Errorf("child %s of the tagged index: %v", m.Digest, err)
		}
	}
	if err := l.pullValid("lab/multi", sigDigest); err != nil {
		t.Errorf("referrer of the tagged index: %v", err)
	}
}

// TestDiskUsageOfSharedBase checks the storage report against a base image
// and two images built on it, number by number, and over HTTP.
func TestDiskUsageOfSharedBase(t *testing.T) {
	t.Parallel()
	l := newLab(t, t.TempDir())
	base, _ := random.Image(20000, 2)
	l.push("lab/base:1", base)
	derive := func(size int64) v1.Image {
		layer, _ := random.Layer(size, types.DockerLayer)
		img, err := mutate.AppendLayers(base, layer)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	app, tools := derive(7000), derive(9000)
	l.push("lab/app:1", app)
	l.push("lab/tools:1", tools)

	sets := map[string]map[digest.Digest]int64{"lab/base": imageBlobs(t, base), "lab/app": imageBlobs(t, app), "lab/tools": imageBlobs(t, tools)}
	refs := map[digest.Digest]int{}
	sizes := map[digest.Digest]int64{}
	for _, set := range sets {
		for d, n := range set {
			refs[d]++
			sizes[d] = n
		}
	}
	u, err := l.store.DiskUsage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var logical, physical, sharedBytes int64
	shared := 0
	for d, n := range sizes {
		physical += n
		if refs[d] > 1 {
			shared++
			sharedBytes += n
		}
	}
	if len(u.Repositories) != 3 {
		t.Fatalf("%d repositories in the report", len(u.Repositories))
	}
	for _, r := range u.Repositories {
		var want, exclusive int64
		for d, n := range sets[r.Name] {
			want += n
			if refs[d] == 1 {
				exclusive += n
			}
		}
		logical += want
		if r.LogicalBytes != want || r.ExclusiveBytes != exclusive || r.Blobs != len(sets[r.Name]) || r.Manifests != 1 || r.Tags != 1 {
			t.Errorf("%s: %+v; want logical %d, exclusive %d, %d blobs", r.Name, r, want, exclusive, len(sets[r.Name]))
		}
	}
	if shared != 2 { // the base's two layers
		t.Fatalf("test setup: %d shared blobs", shared)
	}
	if u.PhysicalBytes != physical || u.Blobs != len(sizes) || u.SharedBlobs != shared || u.SharedBytes != sharedBytes ||
		u.LogicalBytes != logical || u.DedupSavedBytes != logical-physical || u.UnreferencedBytes != 0 {
		t.Errorf("totals %+v; want physical %d in %d blobs, shared %d (%d bytes), logical %d, saved %d",
			u, physical, len(sizes), shared, sharedBytes, logical, logical-physical)
	}
	resp, err := http.Get(l.url + "/api/du")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var overHTTP storage.Usage
	if err := json.NewDecoder(resp.Body).Decode(&overHTTP); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(u)
	b, _ := json.Marshal(overHTTP)
	if string(a) != string(b) {
		t.Errorf("/api/du differs from the store's report:\n%s\n%s", b, a)
	}
}
