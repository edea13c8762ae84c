package storage

import (
	"context"
	"os"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/opencontainers/go-digest"
)

// RepoUsage is one repository's share of the store.
type RepoUsage struct {
	Name           string `json:"name"`
	Manifests      int    `json:"manifests"`
	Tags           int    `json:"tags"`
	Blobs          int    `json:"blobs"`
	LogicalBytes   int64  `json:"logical_bytes"`   // everything its manifests reference, each blob once
	ExclusiveBytes int64  `json:"exclusive_bytes"` // what no other repository references
}

// Usage is the storage report: per repository, and for the whole store.
type Usage struct {
	Repositories      []RepoUsage `json:"repositories"`
	Blobs             int         `json:"blobs"`              // blob files on disk
	PhysicalBytes     int64       `json:"physical_bytes"`     // their size: what the disk holds
	LogicalBytes      int64       `json:"logical_bytes"`      // sum over repositories
	ReferencedBytes   int64       `json:"referenced_bytes"`   // blobs some manifest references, each once
	UnreferencedBytes int64       `json:"unreferenced_bytes"` // what garbage collection would free
	SharedBlobs       int         `json:"shared_blobs"`       // referenced by two repositories or more
	SharedBytes       int64       `json:"shared_bytes"`
	DedupSavedBytes   int64       `json:"dedup_saved_bytes"` // logical minus referenced
	TempFiles         int         `json:"temp_files"`        // in tmp/: writes in progress, or left by a crash
	TempBytes         int64       `json:"temp_bytes"`
}

// DiskUsage walks the store once and reports who holds what, and what
// deduplication saves. It reads only metadata and manifests, one
// repository at a time: its memory is a record per blob and a row per
// repository (see Tally).
func (s *Store) DiskUsage(ctx context.Context) (*Usage, error) {
	t := NewTally()
	err := s.eachBlob(ctx, func(d digest.Digest, info driver.Info) { t.Blob(d, info.Size) })
	if err != nil {
		return nil, err
	}
	var refs []digest.Digest
	err = s.walkRepos(ctx, func(name string, _ []string) error {
		refs = refs[:0]
		manifests := 0
		err := s.eachRevision(ctx, name, func(d digest.Digest, _ driver.Entry) {
			manifests++
			refs = append(refs, d)
		})
		if err != nil {
			return err
		}
		for _, d := range refs[:manifests] {
			blobs, _, _, err := s.references(ctx, name, d)
			if err == nil {
				refs = append(refs, blobs...)
			}
		}
		tags, _ := s.Tags(ctx, name)
		t.Repo(RepoUsage{Name: name, Manifests: manifests, Tags: len(tags)}, refs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	u := t.Usage()
	s.tempFiles(func(_ string, info os.FileInfo) {
		u.TempFiles++
		u.TempBytes += info.Size()
	})
	return u, nil
}
