// Package index is derived data: a model of what the store holds —
// repositories, tags, manifests, the blobs they reference, history —
// built by one streaming pass over the store's read methods. The store
// stays the single source of truth: an index can be thrown away and built
// again at any moment. It feeds `registry sql` (as SQLite) and the /api/
// query endpoints (in memory, rebuilt when the store's generation moves).
package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
)

// Kinds of manifest.
const (
	KindImage    = "image"    // an image manifest whose config is an image config
	KindIndex    = "index"    // an image index or Docker manifest list
	KindArtifact = "artifact" // an image manifest carrying anything else (signature, SBOM…)
)

// Roles of a manifest's references.
const (
	RoleConfig = "config"
	RoleLayer  = "layer"
	RoleChild  = "child"
)

// maxConfigSize bounds the image config read for its history.
const maxConfigSize = 8 << 20

// Snapshot is the model of the store at one generation.
type Snapshot struct {
	Generation   string
	Built        time.Time
	Repositories []*Repository                 // sorted by name
	Manifests    map[digest.Digest]*Manifest   // every manifest stored in some repository
	Blobs        map[digest.Digest]int64       // every blob on disk, with its size
	Links        map[digest.Digest][]string    // blob → repositories that link it
	Uploads      []storage.Upload              // sessions in progress
	images       []*Manifest                   // KindImage, sorted by digest
	users        map[digest.Digest][]*Manifest // blob → manifests referencing it as config or layer
	atChain      map[string][]*Manifest        // chain → images holding it at some position
	topChain     map[string][]*Manifest        // chain → images whose last layer it ends at
}

// Repository is one repository: its tags, manifests and blob links.
type Repository struct {
	Name      string
	Tags      []Tag
	Revisions []storage.Revision
	Links     []digest.Digest
}

// Tag points at a manifest.
type Tag struct {
	Name   string
	Digest digest.Digest
}

// Manifest is one manifest, content addressed: stored once whatever the
// number of repositories holding it.
type Manifest struct {
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Kind         string
	Size         int64
	Subject      digest.Digest // "" without one
	Created      string        // the image config's "created"
	OS           string
	Architecture string
	Variant      string
	Refs         []Ref
	History      []string // created_by of layer i (empty layers skipped); "" when unknown
	Chains       []string // chain of layer i: identifies layers 0..i together
	Repositories []string // sorted
}

// Ref is one descriptor of a manifest.
type Ref struct {
	Role      string
	Position  int
	Digest    digest.Digest
	Size      int64
	MediaType string
	Platform  string // index children: os/architecture[/variant]
	External  bool   // a layer with urls (non-distributable): not in the store
}

// Layers returns the layer references in order.
func (m *Manifest) Layers() []Ref {
	var out []Ref
	for _, r := range m.Refs {
		if r.Role == RoleLayer {
			out = append(out, r)
		}
	}
	return out
}

// Build reads the whole store once, one repository and one manifest at a
// time: manifests and image configs are small and are dropped once parsed;
// layer bytes are never read.
func Build(ctx context.Context, s *storage.Store) (*Snapshot, error) {
	snap := &Snapshot{Generation: s.Generation(ctx), Built: time.Now().UTC(),
		Manifests: map[digest.Digest]*Manifest{}, Blobs: map[digest.Digest]int64{}, Links: map[digest.Digest][]string{}}
	err := s.Blobs(ctx, func(b storage.BlobInfo) error {
		snap.Blobs[b.Digest] = b.Size
		return nil
	})
	if err != nil {
		return nil, err
	}
	names, err := s.Repositories(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		repo, err := readRepository(ctx, s, name)
		if err != nil {
			return nil, err
		}
		snap.Repositories = append(snap.Repositories, repo)
		for _, d := range repo.Links {
			snap.Links[d] = append(snap.Links[d], name)
		}
		for _, rev := range repo.Revisions {
			m := snap.Manifests[rev.Digest]
			if m == nil {
				if m = readManifest(ctx, s, rev); m == nil {
					continue // unreadable or deleted meanwhile
				}
				snap.Manifests[rev.Digest] = m
			}
			m.Repositories = append(m.Repositories, name)
		}
	}
	if snap.Uploads, err = s.Uploads(ctx); err != nil {
		return nil, err
	}
	snap.relate()
	return snap, nil
}

func readRepository(ctx context.Context, s *storage.Store, name string) (*Repository, error) {
	repo := &Repository{Name: name}
	var err error
	if repo.Revisions, err = s.Revisions(ctx, name); err != nil {
		return nil, err
	}
	if repo.Links, err = s.LinkedBlobs(ctx, name); err != nil {
		return nil, err
	}
	tags, err := s.Tags(ctx, name)
	if err != nil && !errors.Is(err, storage.ErrNameUnknown) {
		return nil, err
	}
	for _, t := range tags {
		if d, _, err := s.ResolveManifest(ctx, name, t); err == nil {
			repo.Tags = append(repo.Tags, Tag{t, d})
		}
	}
	return repo, nil
}

// readManifest parses a stored manifest and, for an image, its config.
func readManifest(ctx context.Context, s *storage.Store, rev storage.Revision) *Manifest {
	body, err := s.ReadSmallBlob(ctx, rev.Digest, storage.MaxManifestSize)
	if err != nil {
		return nil
	}
	pm, err := storage.ParseManifest(rev.MediaType, body)
	if err != nil {
		return nil
	}
	m := &Manifest{Digest: rev.Digest, MediaType: pm.MediaType, ArtifactType: pm.ArtifactType, Size: int64(len(body))}
	if pm.Subject != nil {
		m.Subject = pm.Subject.Digest
	}
	switch {
	case pm.IsIndex():
		m.Kind = KindIndex
	case isImageConfig(pm.Config.MediaType):
		m.Kind = KindImage
	default:
		m.Kind = KindArtifact
	}
	if pm.Config != nil {
		m.Refs = append(m.Refs, Ref{Role: RoleConfig, Digest: pm.Config.Digest, Size: pm.Config.Size, MediaType: pm.Config.MediaType})
	}
	chain := ""
	for i, l := range pm.Layers {
		m.Refs = append(m.Refs, Ref{Role: RoleLayer, Position: i, Digest: l.Digest, Size: l.Size, MediaType: l.MediaType, External: len(l.URLs) > 0})
		chain = nextChain(chain, l.Digest)
		m.Chains = append(m.Chains, chain)
	}
	for i, c := range pm.Manifests {
		ref := Ref{Role: RoleChild, Position: i, Digest: c.Digest, Size: c.Size, MediaType: c.MediaType}
		if p := c.Platform; p != nil {
			ref.Platform = strings.TrimSuffix(p.OS+"/"+p.Architecture+"/"+p.Variant, "/")
		}
		m.Refs = append(m.Refs, ref)
	}
	if m.Kind == KindImage {
		readConfig(ctx, s, pm.Config.Digest, m, len(pm.Layers))
	}
	return m
}

func isImageConfig(mt string) bool {
	return mt == "application/vnd.oci.image.config.v1+json" || mt == "application/vnd.docker.container.image.v1+json"
}

// nextChain extends a chain by one layer, as the OCI ChainID does (here
// over the stored, compressed digests): chain(0) = digest(0), chain(i) =
// sha256(chain(i-1) + " " + digest(i)). Two images hold the same chain at
// position i exactly when their first i+1 layers are the same.
func nextChain(prev string, d digest.Digest) string {
	if prev == "" {
		return d.String()
	}
	sum := sha256.Sum256([]byte(prev + " " + d.String()))
	return "sha256:" + hex.EncodeToString(sum[:])
}

type imageConfig struct {
	Created      string `json:"created"`
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
	History      []struct {
		CreatedBy  string `json:"created_by"`
		EmptyLayer bool   `json:"empty_layer"`
	} `json:"history"`
}

// readConfig fills in what the image config says: creation time, platform,
// and the step that made each layer, aligned by skipping empty layers.
func readConfig(ctx context.Context, s *storage.Store, d digest.Digest, m *Manifest, layers int) {
	b, err := s.ReadSmallBlob(ctx, d, maxConfigSize)
	if err != nil {
		return
	}
	var c imageConfig
	if json.Unmarshal(b, &c) != nil {
		return
	}
	m.Created, m.OS, m.Architecture, m.Variant = c.Created, c.OS, c.Architecture, c.Variant
	m.History = make([]string, layers)
	i := 0
	for _, h := range c.History {
		if h.EmptyLayer {
			continue
		}
		if i < layers {
			m.History[i] = h.CreatedBy
		}
		i++
	}
}

// relate computes the lookups the queries use.
func (snap *Snapshot) relate() {
	snap.users = map[digest.Digest][]*Manifest{}
	snap.atChain = map[string][]*Manifest{}
	snap.topChain = map[string][]*Manifest{}
	for _, m := range snap.Manifests {
		sort.Strings(m.Repositories)
		seen := map[digest.Digest]bool{}
		for _, r := range m.Refs {
			if r.Role != RoleChild && !seen[r.Digest] {
				seen[r.Digest] = true
				snap.users[r.Digest] = append(snap.users[r.Digest], m)
			}
		}
		if m.Kind != KindImage {
			continue
		}
		snap.images = append(snap.images, m)
		for _, c := range m.Chains {
			snap.atChain[c] = append(snap.atChain[c], m)
		}
		if n := len(m.Chains); n > 0 {
			snap.topChain[m.Chains[n-1]] = append(snap.topChain[m.Chains[n-1]], m)
		}
	}
	byDigest := func(ms []*Manifest) {
		sort.Slice(ms, func(i, j int) bool { return ms[i].Digest < ms[j].Digest })
	}
	byDigest(snap.images)
	for _, ms := range snap.users {
		byDigest(ms)
	}
	for _, ms := range snap.atChain {
		byDigest(ms)
	}
	for _, ms := range snap.topChain {
		byDigest(ms)
	}
}
