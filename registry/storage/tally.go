package storage

import (
	"sort"

	"github.com/opencontainers/go-digest"
)

// Tally is the one computation of who holds what: fed the blobs on disk,
// then each repository's references once, it gives every repository's
// logical and exclusive bytes and the store's totals. The storage report
// (`registry du`, /api/du) and the index's views (/api/storage,
// /api/repositories) all count through it, so they agree.
//
// Its memory is one small record per blob and one row per repository:
// no repository's set of references is kept once counted.
type Tally struct {
	blobs map[digest.Digest]*blobUse
	rows  []RepoUsage
}

type blobUse struct {
	size  int64
	repos int32 // how many repositories reference it
	owner int32 // the row of the first one
}

// NewTally returns an empty tally.
func NewTally() *Tally { return &Tally{blobs: map[digest.Digest]*blobUse{}} }

// Blob records a blob on disk and its size.
func (t *Tally) Blob(d digest.Digest, size int64) {
	if _, ok := t.blobs[d]; !ok {
		t.blobs[d] = &blobUse{size: size, owner: -1}
	}
}

// Repo counts one repository: row carries its name, manifest and tag
// counts; refs is everything its manifests reference (the manifests
// themselves, configs and layers), duplicates allowed. A reference to no
// blob on disk counts for nothing. It returns the row's index.
func (t *Tally) Repo(row RepoUsage, refs []digest.Digest) int {
	i := int32(len(t.rows))
	row.Blobs, row.LogicalBytes, row.ExclusiveBytes = 0, 0, 0
	for _, d := range refs {
		b := t.blobs[d]
		if b == nil || b.repos > 0 && b.owner == i {
			continue // not on disk, or counted for this repository already
		}
		b.repos++
		b.owner = i // the latest: only a blob referenced once needs it
		row.Blobs++
		row.LogicalBytes += b.size
	}
	t.rows = append(t.rows, row)
	return int(i)
}

// Usage finishes the tally: exclusive bytes per repository, store-wide
// figures, repositories sorted by name.
func (t *Tally) Usage() *Usage {
	u := &Usage{Repositories: t.rows}
	if u.Repositories == nil {
		u.Repositories = []RepoUsage{}
	}
	for _, b := range t.blobs {
		u.Blobs++
		u.PhysicalBytes += b.size
		switch {
		case b.repos == 1:
			u.Repositories[b.owner].ExclusiveBytes += b.size
			u.ReferencedBytes += b.size
		case b.repos > 1:
			u.ReferencedBytes += b.size
			u.SharedBlobs++
			u.SharedBytes += b.size
		}
	}
	for _, r := range u.Repositories {
		u.LogicalBytes += r.LogicalBytes
	}
	u.UnreferencedBytes = u.PhysicalBytes - u.ReferencedBytes
	u.DedupSavedBytes = u.LogicalBytes - u.ReferencedBytes
	sort.Slice(u.Repositories, func(i, j int) bool { return u.Repositories[i].Name < u.Repositories[j].Name })
	return u
}
