package api

import (
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/index"
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
	refs := map[digest.Digest]int{} // blob → repositories referencing it
	perRepo := make([]map[digest.Digest]bool, len(snap.Repositories))
	for i, repo := range snap.Repositories {
		set := map[digest.Digest]bool{}
		for _, rev := range repo.Revisions {
			set[rev.Digest] = true
			if m := snap.Manifests[rev.Digest]; m != nil {
				for _, ref := range m.Refs {
					if ref.Role != index.RoleChild && !ref.External {
						set[ref.Digest] = true
					}
				}
			}
		}
		for d := range set {
			if _, ok := snap.Blobs[d]; ok {
				refs[d]++
			} else {
				delete(set, d)
			}
		}
		perRepo[i] = set
	}
	out := StorageJSON{Repositories: []StorageRepoJSON{}}
	for i, repo := range snap.Repositories {
		if v != nil && !v(repo.Name) {
			continue
		}
		rj := StorageRepoJSON{Name: repo.Name}
		var exclusive int64
		for d := range perRepo[i] {
			rj.LogicalBytes += snap.Blobs[d]
			if refs[d] == 1 {
				exclusive += snap.Blobs[d]
			}
		}
		if v == nil {
			rj.ExclusiveBytes = &exclusive
		}
		out.LogicalBytes += rj.LogicalBytes
		out.Repositories = append(out.Repositories, rj)
	}
	if v != nil {
		out.Restricted = "only the repositories you may pull; figures that depend on other repositories are left out"
		return out, nil
	}
	for d, size := range snap.Blobs {
		out.Blobs++
		out.PhysicalBytes += size
		if n := refs[d]; n > 0 {
			out.ReferencedBytes += size
			if n > 1 {
				out.SharedBlobs++
			}
		}
	}
	out.UnreferencedBytes = out.PhysicalBytes - out.ReferencedBytes
	out.DedupSavedBytes = out.LogicalBytes - out.ReferencedBytes
	return out, nil
}
