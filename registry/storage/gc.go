package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
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
	// Holder names this collector in the GC lease (default: host/pid/random).
	Holder string
	// LeaseTTL is how long the lease lasts unless renewed (default
	// DefaultGCLeaseTTL); Wait is how long to wait for a running collection
	// to end before failing with ErrGCRunning (default: do not wait).
	LeaseTTL, Wait time.Duration
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
// A collection that deletes holds the GC lease (gclease.go): when another
// holds it, GC fails with an error wrapping ErrGCRunning.
func (s *Store) GC(ctx context.Context, opts GCOptions) (res *GCResult, err error) {
	if opts.Grace < 0 { // a cutoff in the future would sweep what was just pushed
		return nil, fmt.Errorf("grace %s: must not be negative", opts.Grace)
	}
	if !opts.DryRun {
		ttl := cmp.Or(opts.LeaseTTL, DefaultGCLeaseTTL)
		h, lerr := s.acquireGCLease(ctx, cmp.Or(opts.Holder, gcHolder()), ttl, opts.Wait)
		if lerr != nil && s.root != "" && storeFull(lerr) {
			// A full disk is what a collection is for: on the filesystem the
			// flock protocol (gclock.go) keeps even two collections safe.
			return s.collect(ctx, opts)
		}
		if lerr != nil {
			return nil, lerr
		}
		if !s.lease.CompareAndSwap(nil, h) { // this store collects already (its lease lost, say)
			close(h.done) // never renewed
			h.release(ctx)
			return nil, &GCRunningError{Lease: GCLease{Holder: "another collection of this process", Acquired: time.Now()}}
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		go h.keep(ctx, cancel)
		s.hook("lease-taken")
		defer func() {
			s.hook("lease-release")
			h.release(ctx)
			cancel()
			s.lease.Store(nil)
			if err != nil && h.isLost() {
				err = fmt.Errorf("%w (%v)", ErrGCLeaseLost, err)
			}
		}()
	}
	return s.collect(ctx, opts)
}

func (s *Store) collect(ctx context.Context, opts GCOptions) (*GCResult, error) {
	res := &GCResult{DryRun: opts.DryRun, Started: time.Now(), DeletedManifests: []GCManifest{}, DeletedBlobs: []GCBlob{}, RemovedRepos: []string{}}
	cutoff := res.Started.Add(-opts.Grace)
	if !opts.DryRun {
		defer s.changed(ctx) // even a collection that failed half-way may have deleted
	}
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
	marked := map[digest.Digest]mark{}
	indexed := map[string]bool{} // the repositories holding a manifest: the catalog index's
	for _, name := range repos {
		revs, err := s.revisions(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("list the manifests of %s: %w", name, err)
		}
		if len(revs) > 0 && !opts.DryRun {
			indexed[name] = true
		}
		for _, d := range revs {
			if doomed[GCManifest{name, d}] {
				continue
			}
			marked[d] = markedRef
			blobs, children, _, err := s.references(ctx, name, d)
			if err != nil {
				continue // unreadable: its blobs stay unless nothing else holds them
			}
			for _, b := range append(blobs, children...) {
				marked[b] = markedRef
			}
		}
	}
	res.MarkedBlobs = len(marked)
	s.hook("marked")
	candidates := []GCBlob{}
	err = s.eachBlob(ctx, func(d digest.Digest, info driver.Info) {
		switch {
		case marked[d] != 0:
			marked[d] = markedSeen
		case !info.ModTime.Before(cutoff):
			res.KeptRecent++
		default:
			candidates = append(candidates, GCBlob{d, info.Size})
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
	} else if err := s.sweep(ctx, candidates, repos, cutoff, res); err != nil {
		return res, err
	}
	if !opts.DryRun {
		n, err := s.removeDanglingLinks(ctx, repos, marked)
		res.RemovedLinks = n
		if err != nil {
			return res, err
		}
		if res.RemovedRepos, err = s.removeEmptyRepos(ctx, repos, cutoff); err != nil {
			return res, err
		}
		if err := s.reconcileIndex(ctx, indexed); err != nil {
			return res, fmt.Errorf("reconcile the catalog index: %w", err)
		}
	}
	if err := s.checkLease(); err != nil {
		return res, err
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
// re-reading each one's date: one touched since the mark is kept. Where
// the driver cannot date a blob in place (S3), a repository's link to it
// dated since the cutoff keeps it too.
func (s *Store) sweep(ctx context.Context, candidates []GCBlob, repos []string, cutoff time.Time, res *GCResult) error {
	const batch = 256
	_, touchable := s.d.(driver.Toucher)
	for len(candidates) > 0 {
		if err := s.checkLease(); err != nil {
			return err
		}
		n := min(batch, len(candidates))
		if !touchable { // a repository created since the mark may link a candidate now
			fresh, err := s.repoDirs(ctx)
			if err != nil {
				return err
			}
			repos = fresh
		}
		unlock, err := s.lockGC(true)
		if err != nil {
			return err
		}
		var keys []string
		var doomed []GCBlob
		for _, c := range candidates[:n] {
			info, err := s.d.Stat(ctx, blobKey(c.Digest))
			if err != nil || !info.ModTime.Before(cutoff) || (!touchable && s.linkedSince(ctx, repos, c.Digest, cutoff)) {
				res.KeptRecent++
				continue
			}
			keys = append(keys, blobKey(c.Digest))
			doomed = append(doomed, GCBlob{c.Digest, info.Size})
		}
		if err := s.deleteKeys(ctx, keys); err != nil {
			unlock()
			return err
		}
		for _, b := range doomed {
			s.stats.blobs.Add(-1)
			s.stats.blobBytes.Add(-b.Size)
			res.DeletedBlobs = append(res.DeletedBlobs, b)
			res.FreedBytes += b.Size
		}
		unlock()
		candidates = candidates[n:]
	}
	return nil
}

// linkedSince reports whether a repository's link to d, as a layer or as
// a manifest, was written at or after t.
func (s *Store) linkedSince(ctx context.Context, repos []string, d digest.Digest, t time.Time) bool {
	for _, name := range repos {
		for _, key := range []string{layerLinkKey(name, d), revisionKey(name, d)} {
			if info, err := s.d.Stat(ctx, key); err == nil && !info.ModTime.Before(t) {
				return true
			}
		}
	}
	return false
}

// mark is what a collection knows of a blob it keeps.
type mark uint8

const (
	markedRef  mark = iota + 1 // a manifest kept refers to it
	markedSeen                 // ... and the walk of blobs found it stored
)

// removeDanglingLinks removes repository links to blobs that no longer
// exist, under the exclusive lock so no link being made right now is lost.
// A link to a blob marked and seen by this collection (which keeps it:
// only a collection deletes blobs, and it holds the lease) is not looked
// up again: at 100,000 repositories that spares millions of stats.
func (s *Store) removeDanglingLinks(ctx context.Context, repos []string, marked map[digest.Digest]mark) (int, error) {
	if err := s.checkLease(); err != nil {
		return 0, err
	}
	unlock, err := s.lockGC(true)
	if err != nil {
		return 0, err
	}
	defer unlock()
	removed := 0
	for _, name := range repos {
		prefix := layersPrefix(name)
		var dangling []string
		err := s.d.List(ctx, prefix, driver.ListOptions{Recursive: true, KeysOnly: true}, func(e driver.Entry) error {
			alg, hex, _ := strings.Cut(strings.TrimPrefix(e.Key, prefix), "/")
			d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
			if marked[d] == markedSeen || ValidateDigest(d) != nil {
				return nil
			}
			if _, err := s.d.Stat(ctx, blobKey(d)); !errors.Is(err, driver.ErrNotFound) {
				return err
			}
			dangling = append(dangling, e.Key)
			return nil
		})
		if err == nil {
			err = s.deleteKeys(ctx, dangling)
		}
		if err != nil {
			return removed, err
		}
		removed += len(dangling)
	}
	return removed, nil
}

// removeEmptyRepos removes the repositories left with no manifest and no
// tag whose blob links are all older than cutoff (a push in flight links
// its blobs before its manifest arrives: those stay).
func (s *Store) removeEmptyRepos(ctx context.Context, repos []string, cutoff time.Time) ([]string, error) {
	if err := s.checkLease(); err != nil {
		return nil, err
	}
	unlock, err := s.lockGC(true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	removed := []string{}
	// Removed in batches of repositories: the flush of the directory that
	// held them is shared.
	var keys, names []string
	flush := func() error {
		if err := s.deleteKeys(ctx, keys); err != nil {
			return err
		}
		removed = append(removed, names...)
		keys, names = keys[:0], names[:0]
		return nil
	}
	for _, name := range repos {
		if s.hasManifests(ctx, name) {
			continue
		}
		if tags, err := s.Tags(ctx, name); (err != nil && !errors.Is(err, ErrNameUnknown)) || len(tags) > 0 || s.newerThan(ctx, layersPrefix(name), cutoff) {
			continue
		}
		for _, own := range []string{"_layers/", "_manifests/", "_referrers/"} {
			if keys, err = s.appendKeys(ctx, keys, repoPrefix(name)+own); err != nil {
				return removed, err
			}
		}
		names = append(names, name)
		if len(keys) >= removeBatch {
			if err := flush(); err != nil {
				return removed, err
			}
		}
	}
	return removed, flush()
}

// removeBatch is how many keys of emptied repositories are deleted at once.
const removeBatch = 4096

// deleteAll deletes every object under prefix.
func (s *Store) deleteAll(ctx context.Context, prefix string) error {
	keys, err := s.appendKeys(ctx, nil, prefix)
	if err != nil {
		return err
	}
	return s.deleteKeys(ctx, keys)
}

// appendKeys appends the key of every object under prefix to keys.
func (s *Store) appendKeys(ctx context.Context, keys []string, prefix string) ([]string, error) {
	err := s.d.List(ctx, prefix, driver.ListOptions{Recursive: true, KeysOnly: true}, func(e driver.Entry) error {
		keys = append(keys, e.Key)
		return nil
	})
	return keys, err
}

// deleteKeys deletes keys (missing ones skipped), in one batch where the
// driver takes one: a flush per directory instead of one per key.
func (s *Store) deleteKeys(ctx context.Context, keys []string) error {
	if b, ok := s.d.(driver.BatchDeleter); ok {
		return b.DeleteMany(ctx, keys)
	}
	for _, k := range keys {
		if err := s.d.Delete(ctx, k); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return err
		}
	}
	return nil
}

// newerThan reports whether an object under prefix changed at or after t;
// a listing that fails answers yes, so nothing is removed on its word.
func (s *Store) newerThan(ctx context.Context, prefix string, t time.Time) bool {
	newer := false
	err := s.d.List(ctx, prefix, driver.ListOptions{Recursive: true}, func(e driver.Entry) error {
		if !e.ModTime.Before(t) {
			newer = true
			return driver.ErrStop
		}
		return nil
	})
	return newer || err != nil
}
