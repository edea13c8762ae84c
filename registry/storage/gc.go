package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
)

// DefaultGCGrace covers a push in flight: blobs uploaded (or checked with
// HEAD) before its manifest arrives.
const DefaultGCGrace = 15 * time.Minute

// GCOptions steer a garbage collection.
type GCOptions struct {
	DryRun         bool          // report what would go, change nothing
	DeleteUntagged bool          // also delete manifests no tag reaches
	Grace          time.Duration // keep anything touched this long before the start
}

// GCBlob is a blob swept (or, in a dry run, to be swept).
type GCBlob struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
}

// GCManifest is an untagged manifest deleted (or to be deleted).
type GCManifest struct {
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
}

// GCResult says what a collection did.
type GCResult struct {
	DryRun           bool         `json:"dry_run"`
	Started          time.Time    `json:"started"`
	DurationMS       int64        `json:"duration_ms"`
	MarkedBlobs      int          `json:"marked_blobs"`
	KeptRecent       int          `json:"kept_recent"`
	DeletedManifests []GCManifest `json:"deleted_manifests"`
	DeletedBlobs     []GCBlob     `json:"deleted_blobs"`
	FreedBytes       int64        `json:"freed_bytes"`
	RemovedLinks     int          `json:"removed_links"`
	RemovedRepos     []string     `json:"removed_repositories"`
	RemovedTemp      int          `json:"removed_temp_files"` // left by a crash mid-write
	RemovedTempBytes int64        `json:"removed_temp_bytes"`
}

// GC marks every blob reachable from a manifest of any repository (image
// manifests, indexes and their children, referrers), then sweeps the rest.
// It is safe while the registry serves: see gclock.go for the protocol.
func (s *Store) GC(ctx context.Context, opts GCOptions) (*GCResult, error) {
	if opts.Grace < 0 { // a cutoff in the future would sweep what was just pushed
		return nil, fmt.Errorf("grace %s: must not be negative", opts.Grace)
	}
	res := &GCResult{DryRun: opts.DryRun, Started: time.Now(), DeletedManifests: []GCManifest{}, DeletedBlobs: []GCBlob{}, RemovedRepos: []string{}}
	cutoff := res.Started.Add(-opts.Grace)
	repos, err := s.repoDirs(ctx)
	if err != nil {
		return nil, err
	}
	doomed := map[GCManifest]bool{} // a dry run's verdict, left out of the mark
	if opts.DeleteUntagged {
		g := &refGraph{s: s, m: map[digest.Digest]refs{}}
		for _, name := range repos {
			candidates := s.untaggedManifests(ctx, name, cutoff, g)
			s.hook("untagged-listed")
			if opts.DryRun {
				for _, d := range candidates {
					doomed[GCManifest{name, d}] = true
					res.DeletedManifests = append(res.DeletedManifests, GCManifest{name, d})
				}
			} else if err := s.deleteUntagged(ctx, name, candidates, cutoff, g, res); err != nil {
				return nil, err
			}
		}
	}
	marked := map[digest.Digest]bool{}
	for _, name := range repos {
		for _, d := range s.revisions(ctx, name) {
			if doomed[GCManifest{name, d}] {
				continue
			}
			marked[d] = true
			blobs, children, _, err := s.references(ctx, name, d)
			if err != nil {
				continue // unreadable: its blobs stay unless nothing else holds them
			}
			for _, b := range append(blobs, children...) {
				marked[b] = true
			}
		}
	}
	res.MarkedBlobs = len(marked)
	candidates := []GCBlob{}
	err = s.eachBlob(ctx, func(d digest.Digest, info os.FileInfo) {
		switch {
		case marked[d]:
		case !info.ModTime().Before(cutoff):
			res.KeptRecent++
		default:
			candidates = append(candidates, GCBlob{d, info.Size()})
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].Digest < candidates[j].Digest })
	if opts.DryRun {
		res.DeletedBlobs = candidates
		for _, c := range candidates {
			res.FreedBytes += c.Size
		}
	} else if err := s.sweep(ctx, candidates, cutoff, res); err != nil {
		return res, err
	}
	if !opts.DryRun {
		n, err := s.removeDanglingLinks(ctx, repos)
		res.RemovedLinks = n
		if err != nil {
			return res, err
		}
		if res.RemovedRepos, err = s.removeEmptyRepos(ctx, repos, cutoff); err != nil {
			return res, err
		}
	}
	if res.RemovedTemp, res.RemovedTempBytes, err = s.sweepTemp(ctx, cutoff, opts.DryRun); err != nil {
		return res, err
	}
	if !opts.DryRun {
		s.markGCDone(ctx)
	}
	res.DurationMS = time.Since(res.Started).Milliseconds()
	return res, nil
}

// sweep deletes candidate blobs in batches under the exclusive lock,
// re-reading each one's mtime: one touched since the mark is kept.
func (s *Store) sweep(ctx context.Context, candidates []GCBlob, cutoff time.Time, res *GCResult) error {
	const batch = 256
	for len(candidates) > 0 {
		n := min(batch, len(candidates))
		unlock, err := s.lockGC(true)
		if err != nil {
			return err
		}
		dirs := map[string]bool{}
		for _, c := range candidates[:n] {
			path := s.blobPath(c.Digest)
			st, err := os.Stat(path)
			if err != nil || !st.ModTime().Before(cutoff) {
				res.KeptRecent++
				continue
			}
			if err := os.Remove(path); err != nil {
				unlock()
				return err
			}
			dirs[filepath.Dir(path)] = true
			s.stats.blobs.Add(-1)
			s.stats.blobBytes.Add(-st.Size())
			res.DeletedBlobs = append(res.DeletedBlobs, GCBlob{c.Digest, st.Size()})
			res.FreedBytes += st.Size()
		}
		err = s.syncDirs(dirs)
		unlock()
		if err != nil {
			return err
		}
		candidates = candidates[n:]
	}
	return nil
}

// removeDanglingLinks removes repository links to blobs that no longer
// exist, under the exclusive lock so no link being made right now is lost.
func (s *Store) removeDanglingLinks(ctx context.Context, repos []string) (int, error) {
	unlock, err := s.lockGC(true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	removed := 0
	synced := map[string]bool{}
	for _, name := range repos {
		for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
			dir := s.layersDir(name) + "/" + alg.String()
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				d := digest.NewDigestFromEncoded(alg, e.Name())
				if ValidateDigest(d) != nil || exists(s.blobPath(d)) {
					continue
				}
				if removeFile(dir+"/"+e.Name()) == nil {
					removed++
					synced[dir] = true
				}
			}
		}
	}
	return removed, s.syncDirs(synced)
}

// removeEmptyRepos removes the repositories left with no manifest and no
// tag whose blob links are all older than cutoff (a push in flight links
// its blobs before its manifest arrives: those stay).
func (s *Store) removeEmptyRepos(ctx context.Context, repos []string, cutoff time.Time) ([]string, error) {
	unlock, err := s.lockGC(true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	removed := []string{}
	for _, name := range repos {
		if s.hasManifests(ctx, name) {
			continue
		}
		if tags, _ := s.Tags(ctx, name); len(tags) > 0 || newerThan(s.layersDir(name), cutoff) {
			continue
		}
		for _, dir := range []string{"_layers", "_manifests", "_referrers"} {
			if err := os.RemoveAll(filepath.Join(s.repoDir(name), dir)); err != nil {
				return removed, err
			}
		}
		pruneEmptyDirs(s.repoDir(name), s.reposDir())
		d := s.repoDir(name)
		for !exists(d) {
			d = filepath.Dir(d)
		}
		if err := s.syncDir(d); err != nil { // the removals are durable
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// newerThan reports whether a file under dir changed at or after t.
func newerThan(dir string, t time.Time) bool {
	newer := false
	filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() {
			return nil
		}
		if info, err := e.Info(); err == nil && !info.ModTime().Before(t) {
			newer = true
			return filepath.SkipAll
		}
		return nil
	})
	return newer
}
