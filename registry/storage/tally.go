package storage

import (
	"crypto/sha256"
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
// no repository's set of references is kept once counted. A sha256 blob
// (nearly all of them) is known by its 32 bytes, not by its digest's 71
// characters: at 100,000 repositories, some 200,000 blobs, this halves
// what a tally holds, in `registry du` and in a registry making /api/du.
type Tally struct {
	sha256 map[[sha256.Size]byte]int32 // index in uses
	other  map[digest.Digest]int32     // other algorithms (sha512)
	uses   []blobUse
	rows   []RepoUsage
}

type blobUse struct {
	size  int64
	repos int32 // how many repositories reference it
	owner int32 // the row of the first one
}

// NewTally returns an empty tally.
func NewTally() *Tally {
	return &Tally{sha256: map[[sha256.Size]byte]int32{}, other: map[digest.Digest]int32{}}
}

// use returns the record of the blob d, added when add is set and it has
// none, or nil.
func (t *Tally) use(d digest.Digest, add bool) *blobUse {
	var sum [sha256.Size]byte
	short := d.Algorithm() == digest.SHA256 && decodeHex(sum[:], d.Encoded())
	var i int32
	var ok bool
	if short {
		i, ok = t.sha256[sum]
	} else {
		i, ok = t.other[d]
	}
	if !ok {
		if !add {
			return nil
		}
		i = int32(len(t.uses))
		t.uses = append(t.uses, blobUse{owner: -1})
		if short {
			t.sha256[sum] = i
		} else {
			t.other[d] = i
		}
	}
	return &t.uses[i]
}

// decodeHex decodes the lowercase hex string s, exactly as long as dst
// takes, into dst.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := unhex(s[2*i]), unhex(s[2*i+1])
		if hi > 15 || lo > 15 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return 255
}

// Blob records a blob on disk and its size (the first time it is told).
func (t *Tally) Blob(d digest.Digest, size int64) {
	if t.use(d, false) == nil {
		t.use(d, true).size = size
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
		b := t.use(d, false)
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
	for _, b := range t.uses {
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
