// Package indextest builds the fixture registry the index's tests (and the
// query API's) answer questions about: images made with go-containerregistry
// and written through the store's own methods.
package indextest

import (
	"bytes"
	"context"
	"database/sql"
	"strconv"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/storage"
)

// Fixture is what was pushed, for tests to compute answers by hand:
//
//	lab/base:1     base     layers L1 L2        (history: ADD, CMD (empty), RUN)
//	lab/base       old      layers L1           (tag "old" deleted: untagged)
//	lab/app:1      derived  layers L1 L2 L3     built on base
//	lab/tool:1     sibling  layers L1 L2 L4     built on base
//	lab/multi:1    an index of derived (linux/amd64) and sibling (linux/arm64)
//	lab/app        sbom     a referrer of derived (artifact, one layer S)
//	lab/base       stray    a blob Z uploaded, referenced by nothing
type Fixture struct {
	Base, Old, Derived, Sibling Image
	Index, SBOM                 Manifest
	L1, L2, L3, L4, S, Z        Blob
}

// Blob is a blob pushed.
type Blob struct {
	Digest digest.Digest
	Size   int64
}

// Manifest is a manifest pushed.
type Manifest struct {
	Digest digest.Digest
	Size   int64
}

// Image is an image pushed: its manifest, config and layers.
type Image struct {
	Manifest
	Config Blob
	Layers []Blob
}

// Layer sizes, chosen so that every sum is easy to check by hand.
const (
	SizeL1 = 1000
	SizeL2 = 200
	SizeL3 = 30
	SizeL4 = 4
	SizeS  = 50
	SizeZ  = 7
)

// History steps.
const (
	StepL1 = "ADD rootfs.tar /"
	StepL2 = "RUN apk add curl"
	StepL3 = "COPY app /app"
	StepL4 = "COPY tool /tool"
)

// Build writes the fixture into the store.
func Build(t testing.TB, s *storage.Store) *Fixture {
	t.Helper()
	f := &Fixture{}
	l1 := layer(SizeL1, '1')
	l2 := layer(SizeL2, '2')
	l3 := layer(SizeL3, '3')
	l4 := layer(SizeL4, '4')
	f.L1, f.L2, f.L3, f.L4 = blobOf(t, l1), blobOf(t, l2), blobOf(t, l3), blobOf(t, l4)

	baseSteps := []v1.History{{CreatedBy: StepL1}, {CreatedBy: "CMD [\"sh\"]", EmptyLayer: true}, {CreatedBy: StepL2}}
	f.Old = PushImage(t, s, "lab/base", "old", "linux", "amd64", []v1.Layer{l1}, []v1.History{{CreatedBy: StepL1}})
	f.Base = PushImage(t, s, "lab/base", "1", "linux", "amd64", []v1.Layer{l1, l2}, baseSteps)
	f.Derived = PushImage(t, s, "lab/app", "1", "linux", "amd64", []v1.Layer{l1, l2, l3}, append(baseSteps[:3:3], v1.History{CreatedBy: StepL3}))
	f.Sibling = PushImage(t, s, "lab/tool", "1", "linux", "arm64", []v1.Layer{l1, l2, l4}, append(baseSteps[:3:3], v1.History{CreatedBy: StepL4}))
	if err := s.DeleteTag(context.Background(), "lab/base", "old"); err != nil {
		t.Fatal(err)
	}

	// The index, in its own repository: its children are pushed there too.
	for _, img := range []Image{f.Derived, f.Sibling} {
		for _, b := range append([]Blob{img.Config}, img.Layers...) {
			if _, err := s.Mount(context.Background(), "lab/multi", "", b.Digest); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range []string{"lab/app", "lab/tool"} {
		body, mt, _, err := s.GetManifest(context.Background(), name, "1")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PutManifest(context.Background(), "lab/multi", digest.FromBytes(body).String(), mt, body, nil); err != nil {
			t.Fatal(err)
		}
	}
	idx := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		descriptor(types.OCIManifestSchema1, f.Derived.Manifest, `,"platform":{"os":"linux","architecture":"amd64"}`) + "," +
		descriptor(types.OCIManifestSchema1, f.Sibling.Manifest, `,"platform":{"os":"linux","architecture":"arm64"}`) + `]}`
	f.Index = putManifest(t, s, "lab/multi", "1", string(types.OCIImageIndex), idx)

	// A referrer of derived: an SBOM artifact.
	sbom := bytes.Repeat([]byte{'s'}, SizeS)
	f.S = putBlob(t, s, "lab/app", sbom)
	emptyCfg := putBlob(t, s, "lab/app", []byte("{}"))
	art := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example.sbom",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + emptyCfg.Digest.String() + `","size":2},` +
		`"layers":[{"mediaType":"application/spdx+json","digest":"` + f.S.Digest.String() + `","size":` + itoa(SizeS) + `}],` +
		`"subject":` + descriptor(types.OCIManifestSchema1, f.Derived.Manifest, "") + `}`
	f.SBOM = putManifest(t, s, "lab/app", digest.FromString(art).String(), string(types.OCIManifestSchema1), art)

	// A stray blob: uploaded, never referenced.
	f.Z = putBlob(t, s, "lab/base", bytes.Repeat([]byte{'z'}, SizeZ))
	return f
}

// layer makes an uncompressed layer of n bytes (a static layer: its digest
// is the digest of its bytes).
func layer(n int, fill byte) v1.Layer {
	return static.NewLayer(bytes.Repeat([]byte{fill}, n), types.OCIUncompressedLayer)
}

func blobOf(t testing.TB, l v1.Layer) Blob {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	size, err := l.Size()
	if err != nil {
		t.Fatal(err)
	}
	return Blob{digest.Digest(d.String()), size}
}

// PushImage builds an OCI image with go-containerregistry and writes its
// layers, config and manifest through the store; tag "" pushes by digest.
func PushImage(t testing.TB, s *storage.Store, repo, tag, os, arch string, layers []v1.Layer, history []v1.History) Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	cf.Created = v1.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cf.History = history
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	var out Image
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b := blobOf(t, l)
		if _, err := s.PutBlob(context.Background(), repo, b.Digest, b.Size, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		out.Layers = append(out.Layers, b)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	out.Config = putBlob(t, s, repo, cfg)
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	ref := tag
	if ref == "" {
		ref = digest.FromBytes(raw).String()
	}
	out.Manifest = putManifest(t, s, repo, ref, string(types.OCIManifestSchema1), string(raw))
	return out
}

func putBlob(t testing.TB, s *storage.Store, repo string, b []byte) Blob {
	t.Helper()
	d := digest.FromBytes(b)
	if _, err := s.PutBlob(context.Background(), repo, d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return Blob{d, int64(len(b))}
}

func putManifest(t testing.TB, s *storage.Store, repo, ref, mt, body string) Manifest {
	t.Helper()
	d, _, err := s.PutManifest(context.Background(), repo, ref, mt, []byte(body), nil)
	if err != nil {
		t.Fatalf("push %s:%s: %v", repo, ref, err)
	}
	return Manifest{d, int64(len(body))}
}

func descriptor(mt types.MediaType, m Manifest, extra string) string {
	return `{"mediaType":"` + string(mt) + `","digest":"` + m.Digest.String() + `","size":` + itoa(m.Size) + extra + `}`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// SQL builds the index of the store into a SQLite database, closed when
// the test ends.
func SQL(t testing.TB, s *storage.Store) *sql.DB {
	t.Helper()
	snap, err := index.Build(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	db, err := index.OpenSQL(snap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
