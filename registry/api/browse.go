package api

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/gorilla/mux"
	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/index"
)

// What the explorer's repository views need, from the same index:
//
//	GET /api/repositories                   every repository the caller may pull: tags, sizes
//	GET /api/repositories/{name}/tags       a repository's tags: digest, media type, size, created, platforms,
//	                                        and whether the caller may delete them
//	GET /api/blobs/largest?n=               the largest blobs the caller may pull

// RepositoryJSON is one repository as the explorer lists it.
type RepositoryJSON struct {
	Name      string `json:"name"`
	Tags      int    `json:"tags"`
	Manifests int    `json:"manifests"`
	// LogicalBytes counts its manifests and every blob they reference,
	// once (the same figure as /api/du's and /api/storage's).
	LogicalBytes int64 `json:"logical_bytes"`
	// UniqueBytes counts what no other repository references; left out
	// for a caller who may not pull every repository (it would tell
	// whether a blob exists elsewhere).
	UniqueBytes *int64 `json:"unique_bytes,omitempty"`
}

func registerBrowse(router *mux.Router, q *query) {
	router.Handle("/api/repositories", q.handle("api.repositories", q.repositories)).Methods("GET", "HEAD")
	router.Handle("/api/repositories/{name:.+}/tags", q.handle("api.repository.tags", q.repositoryTags)).Methods("GET", "HEAD")
	router.Handle("/api/blobs/largest", q.handle("api.blobs.largest", q.largestBlobs)).Methods("GET", "HEAD")
	router.Handle("/api/blobs/{digest}/files", q.handle("api.blob.files", q.blobFiles)).Methods("GET", "HEAD")
	router.Handle("/api/tree", q.handle("api.tree", q.tree)).Methods("GET", "HEAD")
	router.Handle("/api/storage", q.handle("api.storage", q.storage)).Methods("GET", "HEAD")
}

func (q *query) repositories(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	out := struct {
		Repositories []RepositoryJSON `json:"repositories"`
	}{[]RepositoryJSON{}}
	for _, ru := range snapshotUsage(snap).Repositories {
		if v != nil && !v(ru.Name) {
			continue
		}
		rj := RepositoryJSON{Name: ru.Name, Tags: ru.Tags, Manifests: ru.Manifests, LogicalBytes: ru.LogicalBytes}
		if v == nil {
			rj.UniqueBytes = &ru.ExclusiveBytes
		}
		out.Repositories = append(out.Repositories, rj)
	}
	return out, nil
}

// TagJSON is one tag of a repository.
type TagJSON struct {
	Name      string        `json:"name"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"media_type"`
	Kind      string        `json:"kind"`
	Size      int64         `json:"size"` // manifest, config and layers; an index: its children's
	Created   string        `json:"created,omitempty"`
	Platforms []PlatformRef `json:"platforms,omitempty"` // an index's children
}

// PlatformRef is an index's child image for one platform.
type PlatformRef struct {
	Platform string        `json:"platform"`
	Digest   digest.Digest `json:"digest"`
}

func (q *query) repositoryTags(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	name := mux.Vars(r)["name"]
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	i := sort.Search(len(snap.Repositories), func(i int) bool { return snap.Repositories[i].Name >= name })
	if i == len(snap.Repositories) || snap.Repositories[i].Name != name || v != nil && !v(name) {
		return nil, newError(codeNameUnknown, fmt.Errorf("no repository %s among those you may pull", name))
	}
	out := struct {
		Name string `json:"name"`
		// MayDelete says whether the registry would let this caller
		// DELETE a tag here: deletes on, not read-only, and the access
		// rules grant them delete on the repository.
		MayDelete bool      `json:"may_delete"`
		Tags      []TagJSON `json:"tags"`
	}{Name: name, Tags: []TagJSON{}}
	if q.mayDelete != nil {
		out.MayDelete = q.mayDelete(accesslog.From(r.Context()).User, name)
	}
	for _, t := range snap.Repositories[i].Tags {
		tj := TagJSON{Name: t.Name, Digest: t.Digest}
		if m := snap.Manifests[t.Digest]; m != nil {
			tj.MediaType, tj.Kind, tj.Created, tj.Size = m.MediaType, m.Kind, m.Created, m.Size
			for _, ref := range m.Refs {
				tj.Size += ref.Size
				if ref.Role == index.RoleChild {
					tj.Platforms = append(tj.Platforms, PlatformRef{ref.Platform, ref.Digest})
				}
			}
		}
		out.Tags = append(out.Tags, tj)
	}
	return out, nil
}

// BlobJSON is a stored blob and the repositories (visible to the caller)
// that link it.
type BlobJSON struct {
	Digest       digest.Digest `json:"digest"`
	Size         int64         `json:"size"`
	Repositories []string      `json:"repositories"`
}

func (q *query) largestBlobs(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	n, err := queryPageSize(r, 10)
	if err != nil {
		return nil, err
	}
	var all []BlobJSON
	for d, repos := range snap.Links {
		size, ok := snap.Blobs[d]
		if !ok {
			continue
		}
		b := BlobJSON{Digest: d, Size: size, Repositories: []string{}}
		for _, repo := range repos {
			if v == nil || v(repo) {
				b.Repositories = append(b.Repositories, repo)
			}
		}
		if len(b.Repositories) > 0 {
			all = append(all, b)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Size != all[j].Size {
			return all[i].Size > all[j].Size
		}
		return all[i].Digest < all[j].Digest
	})
	out := struct {
		Blobs []BlobJSON `json:"blobs"`
	}{append([]BlobJSON{}, all[:min(n, len(all))]...)}
	return out, nil
}
