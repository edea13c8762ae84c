package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/opencontainers/go-digest"
)

// untaggedBatch is how many manifests one hold of the exclusive lock
// deletes at most: pushes go on between batches.
const untaggedBatch = 128

// refs is what one stored manifest points at.
type refs struct {
	blobs, children []digest.Digest
	subject         digest.Digest // "" without a subject
	err             error
}

// refGraph remembers, for one collection, what each manifest references.
// Content is addressed by digest, so an entry never goes stale.
type refGraph struct {
	s *Store
	m map[digest.Digest]refs
}

func (g *refGraph) of(ctx context.Context, name string, d digest.Digest) refs {
	if r, ok := g.m[d]; ok {
		return r
	}
	var r refs
	r.blobs, r.children, r.subject, r.err = g.s.references(ctx, name, d)
	if r.err == nil { // an unreadable manifest may be readable in another repository
		g.m[d] = r
	}
	return r
}

// keptManifests is the set of manifests of a repository that a collection
// keeps: every tagged manifest and every manifest stored or pushed again
// since cutoff, and everything they need — children of an index, the
// referrers of a kept manifest, the subject of a kept referrer — closed
// over. Computed under the exclusive lock, it is exact: every push holds
// the shared lock while it stores a manifest or a tag.
func (s *Store) keptManifests(ctx context.Context, name string, cutoff time.Time, g *refGraph) map[digest.Digest]bool {
	var queue []digest.Digest
	tags, _ := s.Tags(ctx, name)
	for _, t := range tags {
		if d, _, err := s.ResolveManifest(ctx, name, t); err == nil {
			queue = append(queue, d)
		}
	}
	s.eachRevision(ctx, name, func(d digest.Digest, e driver.Entry) {
		if !e.ModTime.Before(cutoff) {
			queue = append(queue, d)
		}
	})
	keep := map[digest.Digest]bool{}
	for len(queue) > 0 {
		d := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if keep[d] {
			continue
		}
		if _, err := s.d.Stat(ctx, revisionKey(name, d)); err != nil {
			continue
		}
		keep[d] = true
		r := g.of(ctx, name, d)
		queue = append(queue, r.children...)
		queue = append(queue, s.referrerDigests(ctx, name, d)...)
		if r.subject != "" {
			queue = append(queue, r.subject)
		}
	}
	return keep
}

// untaggedManifests lists the manifests of a repository a collection
// would delete now (read without the lock: deletion checks again).
func (s *Store) untaggedManifests(ctx context.Context, name string, cutoff time.Time, g *refGraph) []digest.Digest {
	keep := s.keptManifests(ctx, name, cutoff, g)
	revs, err := s.revisions(ctx, name)
	if err != nil {
		return nil // unreadable now: nothing of it is deleted
	}
	var out []digest.Digest
	for _, d := range revs {
		if !keep[d] {
			out = append(out, d)
		}
	}
	return out
}

// deleteUntagged deletes a repository's candidates in batches, each under
// the exclusive lock, establishing again under that lock which manifests
// must be kept: a tag, an index or a referrer pushed since the candidates
// were listed saves what it reaches.
func (s *Store) deleteUntagged(ctx context.Context, name string, candidates []digest.Digest, cutoff time.Time, g *refGraph, res *GCResult) error {
	for len(candidates) > 0 {
		if err := s.checkLease(); err != nil {
			return err
		}
		n := min(untaggedBatch, len(candidates))
		unlock, err := s.lockGC(true)
		if err != nil {
			return err
		}
		keep := s.keptManifests(ctx, name, cutoff, g)
		for _, d := range candidates[:n] {
			if keep[d] {
				continue
			}
			if err := s.removeManifest(ctx, name, d, g.of(ctx, name, d).subject); err != nil {
				unlock()
				return fmt.Errorf("delete untagged %s in %s: %w", d, name, err)
			}
			res.DeletedManifests = append(res.DeletedManifests, GCManifest{name, d})
		}
		unlock()
		s.hook("untagged-batch")
		candidates = candidates[n:]
	}
	return nil
}

// removeManifest deletes a manifest no tag points at (one deleted
// meanwhile is no error).
func (s *Store) removeManifest(ctx context.Context, name string, d, subject digest.Digest) error {
	unlock := s.repoLocks.lock(name)
	defer unlock()
	if err := s.unlinkManifest(ctx, name, d, subject); err != nil && !errors.Is(err, ErrManifestUnknown) {
		return err
	}
	return nil
}

// hook tells a test where a collection stands.
func (s *Store) hook(event string) {
	if s.gcHook != nil {
		s.gcHook(event)
	}
}
