package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/storage"
)

// The query API: what the store holds, as small JSON documents for a web
// explorer or curl — answered from the index (rebuilt only when the store
// changed), never from a walk of the store per request.
//
//	GET /api/images?n=&last=          images with their layers, by digest, paginated (Link)
//	GET /api/images/{digest}          one image
//	GET /api/images/{digest}/family   the images it is built on, and those built on it
//	GET /api/blobs/{digest}/images    the images that hold a blob
//
// Each needs what listing the catalog needs and shows only the repositories
// the caller may pull. Responses carry an ETag; If-None-Match answers 304.

// DefaultQueryPage and MaxQueryPage bound /api/images pages.
const (
	DefaultQueryPage = 50
	MaxQueryPage     = 500
)

type query struct {
	cache     *index.Cache
	az        Authorizer
	pullable  func(user string) func(repo string) bool
	mayDelete func(user, repo string) bool
}

// RegisterQuery adds the query API's routes; pullable (may be nil) says
// which repositories a user may pull, mayDelete (may be nil: nobody)
// whether a DELETE of theirs in a repository would be let through.
func RegisterQuery(router *mux.Router, cache *index.Cache, az Authorizer, pullable func(user string) func(repo string) bool,
	mayDelete func(user, repo string) bool) {
	q := &query{cache: cache, az: az, pullable: pullable, mayDelete: mayDelete}
	router.Handle("/api/images", q.handle("api.images", q.images)).Methods("GET", "HEAD")
	router.Handle("/api/images/{digest}", q.handle("api.image", q.image)).Methods("GET", "HEAD")
	router.Handle("/api/images/{digest}/family", q.handle("api.family", q.family)).Methods("GET", "HEAD")
	router.Handle("/api/blobs/{digest}/images", q.handle("api.blob", q.blobImages)).Methods("GET", "HEAD")
	registerBrowse(router, q)
}

type queryFunc func(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error)

func (q *query) handle(route string, fn queryFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accesslog.From(r.Context()).Route = route
		err := authorize(q.az, w, r, auth.Catalog)
		var body any
		if err == nil {
			var snap *index.Snapshot
			if snap, err = q.cache.Get(r.Context()); err == nil {
				var v index.Visible
				if q.pullable != nil {
					v = q.pullable(accesslog.From(r.Context()).User)
				}
				body, err = fn(w, r, snap, v)
			}
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeTagged(w, r, body)
	})
}

// writeTagged writes v as JSON with an ETag computed from the bytes: a
// client that already holds them gets 304 Not Modified.
func writeTagged(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, r, err)
		return
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	for _, t := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		if t = strings.TrimPrefix(strings.TrimSpace(t), "W/"); t == etag || t == "*" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// ImageJSON is one image as the query API shows it.
type ImageJSON struct {
	Digest       digest.Digest `json:"digest"`
	MediaType    string        `json:"media_type"`
	Platform     string        `json:"platform,omitempty"`
	Created      string        `json:"created,omitempty"`
	Size         int64         `json:"size"` // config and layers
	Repositories []RepoTags    `json:"repositories"`
	Layers       []LayerJSON   `json:"layers"`
}

// RepoTags is a repository holding an image, with the tags pointing at it.
type RepoTags struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// LayerJSON is one layer of an image.
type LayerJSON struct {
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
	MediaType string        `json:"media_type"`
	CreatedBy string        `json:"created_by,omitempty"`
}

func imageJSON(snap *index.Snapshot, v index.Visible, m *index.Manifest) ImageJSON {
	out := ImageJSON{Digest: m.Digest, MediaType: m.MediaType, Created: m.Created, Repositories: []RepoTags{}, Layers: []LayerJSON{}}
	if m.OS != "" {
		out.Platform = strings.TrimSuffix(m.OS+"/"+m.Architecture+"/"+m.Variant, "/")
	}
	for _, name := range snap.Repos(v, m) {
		tags := snap.Tags(name, m.Digest)
		if tags == nil {
			tags = []string{}
		}
		out.Repositories = append(out.Repositories, RepoTags{name, tags})
	}
	for _, r := range m.Refs {
		if r.Role == index.RoleConfig || r.Role == index.RoleLayer {
			out.Size += r.Size
		}
		if r.Role == index.RoleLayer {
			l := LayerJSON{Digest: r.Digest, Size: r.Size, MediaType: r.MediaType}
			if r.Position < len(m.History) {
				l.CreatedBy = m.History[r.Position]
			}
			out.Layers = append(out.Layers, l)
		}
	}
	return out
}

func (q *query) images(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	n, err := queryPageSize(r, DefaultQueryPage)
	if err != nil {
		return nil, err
	}
	page, more := snap.Images(v, digest.Digest(r.URL.Query().Get("last")), n)
	out := struct {
		Images []ImageJSON `json:"images"`
	}{[]ImageJSON{}}
	for _, m := range page {
		out.Images = append(out.Images, imageJSON(snap, v, m))
	}
	if more {
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {page[len(page)-1].Digest.String()}}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
	}
	return out, nil
}

// queryPageSize reads the n parameter: def when absent, at most MaxQueryPage.
func queryPageSize(r *http.Request, def int) (int, error) {
	ns := r.URL.Query().Get("n")
	if ns == "" {
		return def, nil
	}
	c, err := strconv.Atoi(ns)
	if err != nil || c < 1 {
		return 0, newError(codePaginationNumberInvalid, fmt.Errorf("n=%.20q is not a count of 1 or more", ns))
	}
	return min(c, MaxQueryPage), nil
}

// visibleImage finds the image named in the path, if the caller may see it.
func visibleImage(r *http.Request, snap *index.Snapshot, v index.Visible) (*index.Manifest, error) {
	d := digest.Digest(mux.Vars(r)["digest"])
	if err := storage.ValidateDigest(d); err != nil {
		return nil, newError(codeDigestInvalid, fmt.Errorf("%.80q: %v", d, err))
	}
	m, ok := snap.Manifest(v, d)
	if !ok || m.Kind != index.KindImage {
		return nil, newError(codeManifestUnknown, fmt.Errorf("no image %s", d))
	}
	return m, nil
}

func (q *query) image(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	m, err := visibleImage(r, snap, v)
	if err != nil {
		return nil, err
	}
	return imageJSON(snap, v, m), nil
}

// RelativeJSON is an image related to another by its layers.
type RelativeJSON struct {
	Digest       digest.Digest `json:"digest"`
	SharedLayers int           `json:"shared_layers"`
	Layers       int           `json:"layers"`
	Repositories []RepoTags    `json:"repositories"`
}

func (q *query) family(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	m, err := visibleImage(r, snap, v)
	if err != nil {
		return nil, err
	}
	bases, derived := snap.Family(v, m)
	conv := func(rs []index.Relative) []RelativeJSON {
		out := []RelativeJSON{}
		for _, rel := range rs {
			img := imageJSON(snap, v, rel.Image)
			out = append(out, RelativeJSON{rel.Image.Digest, rel.SharedLayers, len(rel.Image.Chains), img.Repositories})
		}
		return out
	}
	return struct {
		Image   digest.Digest  `json:"image"`
		Layers  int            `json:"layers"`
		Bases   []RelativeJSON `json:"bases"`   // nearest first
		Derived []RelativeJSON `json:"derived"` // by digest
	}{m.Digest, len(m.Chains), conv(bases), conv(derived)}, nil
}

// BlobUseJSON is a manifest holding a blob.
type BlobUseJSON struct {
	Digest       digest.Digest `json:"digest"`
	Kind         string        `json:"kind"` // image or artifact
	Role         string        `json:"role"` // config or layer
	Position     int           `json:"position"`
	Repositories []RepoTags    `json:"repositories"`
}

func (q *query) blobImages(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	d := digest.Digest(mux.Vars(r)["digest"])
	if err := storage.ValidateDigest(d); err != nil {
		return nil, newError(codeDigestInvalid, fmt.Errorf("%.80q: %v", d, err))
	}
	size, stored := snap.BlobSize(d)
	linked := false
	for _, repo := range snap.Links[d] {
		linked = linked || v == nil || v(repo)
	}
	if !stored || !linked {
		return nil, newError(codeBlobUnknown, fmt.Errorf("no blob %s in the repositories you may pull", d))
	}
	out := struct {
		Blob   digest.Digest `json:"blob"`
		Size   int64         `json:"size"`
		Images []BlobUseJSON `json:"images"`
	}{d, size, []BlobUseJSON{}}
	for _, u := range snap.BlobUsers(v, d) {
		out.Images = append(out.Images, BlobUseJSON{u.Manifest.Digest, u.Manifest.Kind, u.Role, u.Position, imageJSON(snap, v, u.Manifest).Repositories})
	}
	return out, nil
}
