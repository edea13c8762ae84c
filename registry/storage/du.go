package storage

import (
	"context"
	"os"
	"sort"

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

// DiskUsage walks the store and reports who holds what, and what
// deduplication saves. It reads only metadata and manifests.
func (s *Store) DiskUsage(ctx context.Context) (*Usage, error) {
	u := &Usage{Repositories: []RepoUsage{}}
	sizes := map[digest.Digest]int64{}
	err := s.eachBlob(ctx, func(d digest.Digest, info driver.Info) {
		sizes[d] = info.Size
		u.Blobs++
		u.PhysicalBytes += info.Size
	})
	if err != nil {
		return nil, err
	}
	repos, err := s.repoDirs(ctx)
	if err != nil {
		return nil, err
	}
	refs := map[digest.Digest]int{} // how many repositories reference each blob
	perRepo := make([]map[digest.Digest]bool, len(repos))
	for i, name := range repos {
		set := map[digest.Digest]bool{}
		revs, err := s.revisions(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, d := range revs {
			set[d] = true
			blobs, _, _, err := s.references(ctx, name, d)
			if err != nil {
				continue
			}
			for _, b := range blobs {
				set[b] = true
			}
		}
		tags, _ := s.Tags(ctx, name)
		u.Repositories = append(u.Repositories, RepoUsage{Name: name, Manifests: len(revs), Tags: len(tags)})
		for d := range set {
			if _, ok := sizes[d]; ok {
				refs[d]++
			} else {
				delete(set, d)
			}
		}
		perRepo[i] = set
	}
	for i := range u.Repositories {
		r := &u.Repositories[i]
		for d := range perRepo[i] {
			r.Blobs++
			r.LogicalBytes += sizes[d]
			if refs[d] == 1 {
				r.ExclusiveBytes += sizes[d]
			}
		}
		u.LogicalBytes += r.LogicalBytes
	}
	for d, n := range refs {
		u.ReferencedBytes += sizes[d]
		if n > 1 {
			u.SharedBlobs++
			u.SharedBytes += sizes[d]
		}
	}
	s.tempFiles(func(_ string, info os.FileInfo) {
		u.TempFiles++
		u.TempBytes += info.Size()
	})
	u.UnreferencedBytes = u.PhysicalBytes - u.ReferencedBytes
	u.DedupSavedBytes = u.LogicalBytes - u.ReferencedBytes
	sort.Slice(u.Repositories, func(i, j int) bool { return u.Repositories[i].Name < u.Repositories[j].Name })
	return u, nil
}
