package api

import (
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/storage"
)

// Two answers that would otherwise cost the explorer many requests or a
// walk of the store, computed from the index snapshot instead:
//
//	GET /api/tree      every image with the image it is built on (its family tree)
//	GET /api/storage   physical and logical bytes, dedup savings, what gc would free

// TreeNodeJSON is one image of the family tree.
type TreeNodeJSON struct {
	Digest       digest.Digest `json:"digest"`
	Parent       digest.Digest `json:"parent,omitempty"` // the nearest image whose layers start this one's
	Layers       int           `json:"layers"`
	Size         int64         `json:"size"`
	Repositories []RepoTags    `json:"repositories"`
}

func (q *query) tree(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	out := struct {
		Images []TreeNodeJSON `json:"images"`
	}{[]TreeNodeJSON{}}
	imgs, _ := snap.Images(v, "", 1<<30)
	for _, m := range imgs {
		j := imageJSON(snap, v, m)
		n := TreeNodeJSON{Digest: m.Digest, Layers: len(j.Layers), Size: j.Size, Repositories: j.Repositories}
		if bases, _ := snap.Family(v, m); len(bases) > 0 {
			n.Parent = bases[0].Image.Digest
		}
		out.Images = append(out.Images, n)
	}
	return out, nil
}

// StorageRepoJSON is one repository's share of the store.
type StorageRepoJSON struct {
	Name         string `json:"name"`
	LogicalBytes int64  `json:"logical_bytes"` // every blob its manifests reference (and the manifests), once
	// ExclusiveBytes is what no other repository references; left out for
	// a caller who may not pull every repository.
	ExclusiveBytes *int64 `json:"exclusive_bytes,omitempty"`
}

// StorageJSON is the storage report as the explorer draws it. The
// store-wide figures are left out for a caller the access rules limit.
type StorageJSON struct {
	Repositories      []StorageRepoJSON `json:"repositories"`
	Blobs             int               `json:"blobs,omitempty"`
	PhysicalBytes     int64             `json:"physical_bytes,omitempty"`
	LogicalBytes      int64             `json:"logical_bytes"`
	ReferencedBytes   int64             `json:"referenced_bytes,omitempty"`
	UnreferencedBytes int64             `json:"unreferenced_bytes,omitempty"` // what gc would free (blobs)
	SharedBlobs       int               `json:"shared_blobs,omitempty"`
	DedupSavedBytes   int64             `json:"dedup_saved_bytes,omitempty"`
	Restricted        string            `json:"restricted,omitempty"`
}

func (q *query) storage(w http.ResponseWriter, r *http.Request, snap *index.Snapshot, v index.Visible) (any, error) {
	u := snapshotUsage(snap)
	out := StorageJSON{Repositories: []StorageRepoJSON{}}
	for _, ru := range u.Repositories {
		if v != nil && !v(ru.Name) {
			continue
		}
		rj := StorageRepoJSON{Name: ru.Name, LogicalBytes: ru.LogicalBytes}
		if v == nil {
			rj.ExclusiveBytes = &ru.ExclusiveBytes
		}
		out.LogicalBytes += rj.LogicalBytes
		out.Repositories = append(out.Repositories, rj)
	}
	if v != nil {
		out.Restricted = "only the repositories you may pull; figures that depend on other repositories are left out"
		return out, nil
	}
	out.Blobs, out.PhysicalBytes, out.ReferencedBytes = u.Blobs, u.PhysicalBytes, u.ReferencedBytes
	out.UnreferencedBytes, out.SharedBlobs, out.DedupSavedBytes = u.UnreferencedBytes, u.SharedBlobs, u.DedupSavedBytes
	return out, nil
}

// snapshotUsage counts the snapshot through storage.Tally, the same
// computation as the storage report (`registry du`, /api/du): per
// repository, its manifests and every blob they reference, once.
func snapshotUsage(snap *index.Snapshot) *storage.Usage {
	t := storage.NewTally()
	for d, size := range snap.Blobs {
		t.Blob(d, size)
	}
	var refs []digest.Digest
	for _, repo := range snap.Repositories {
		refs = refs[:0]
		for _, rev := range repo.Revisions {
			refs = append(refs, rev.Digest)
			if m := snap.Manifests[rev.Digest]; m != nil {
				for _, ref := range m.Refs {
					if ref.Role != index.RoleChild && !ref.External {
						refs = append(refs, ref.Digest)
					}
				}
			}
		}
		t.Repo(storage.RepoUsage{Name: repo.Name, Manifests: len(repo.Revisions), Tags: len(repo.Tags)}, refs)
	}
	return t.Usage()
}
