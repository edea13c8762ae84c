package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// A mirror's cache is ordinary content of the store: the manifests it
// fetched are revisions of the mirrored repository, its tags are tags, its
// blobs are blobs linked into the repository. What is particular to it:
// a manifest is stored before the blobs it references (they are fetched
// when pulled), a tag's date says when it was last checked against the
// upstream, and a revision's date when it was last pulled (for eviction).

// CacheManifest stores a manifest fetched from an upstream under its digest
// d (checked against the bytes) and, when tag is set, points the tag at it.
// Unlike PutManifest, the blobs and child manifests it references need not
// be in the repository. The tag is dated now: just checked.
func (s *Store) CacheManifest(ctx context.Context, name, tag, mediaType string, body []byte, d digest.Digest) error {
	var tags []string
	if tag != "" {
		tags = []string{tag}
	}
	if _, _, err := s.putManifest(ctx, name, d.String(), mediaType, body, tags, false); err != nil {
		return err
	}
	if tag != "" {
		return s.TouchTag(ctx, name, tag)
	}
	return nil
}

// FinishVerified ends an upload session with no final chunk, as
// FinishUpload does, calling verified as soon as the bytes matched want:
// before they are made durable (fsync) and visible. A mirror releases the
// last bytes of a blob to its client then, not after the disk caught up.
func (s *Store) FinishVerified(ctx context.Context, name, id string, want digest.Digest, verified func()) (int64, error) {
	return s.finishUpload(ctx, name, id, want, -1, -1, nil, verified)
}

// TagChecked returns the digest a tag points at and the tag's date: when
// it was written or last touched (for a mirror: last checked upstream).
func (s *Store) TagChecked(ctx context.Context, name, tag string) (digest.Digest, time.Time, error) {
	d, _, err := s.ResolveManifest(ctx, name, tag)
	if err != nil {
		return "", time.Time{}, err
	}
	info, err := s.d.Stat(ctx, tagKey(name, tag))
	if err != nil {
		return "", time.Time{}, notFound(err, ErrManifestUnknown, "tag "+tag+" in "+name)
	}
	return d, info.ModTime, nil
}

// TouchTag dates a tag now, its value unchanged.
func (s *Store) TouchTag(ctx context.Context, name, tag string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkTag(tag); err != nil {
		return err
	}
	return notFound(s.touch(ctx, tagKey(name, tag)), ErrManifestUnknown, "tag "+tag+" in "+name)
}

// MarkPulled dates a manifest's revision link now, unless it was dated
// within the last hour: the date eviction of idle cached manifests reads.
func (s *Store) MarkPulled(ctx context.Context, name string, d digest.Digest) error {
	if err := checkBlob(name, d); err != nil {
		return err
	}
	key := revisionKey(name, d)
	info, err := s.d.Stat(ctx, key)
	if err != nil || time.Since(info.ModTime) < time.Hour {
		return nil
	}
	return s.touch(ctx, key)
}

// Evicted is a cached manifest removed for being idle.
type Evicted struct {
	Repository string        `json:"repository"`
	Digest     digest.Digest `json:"digest"`
	LastPulled time.Time     `json:"last_pulled"`
}

// EvictIdle deletes, in every repository mirrored(name) accepts, the
// manifests (with their tags) whose revision link is older than cutoff:
// not pulled since. Their blobs go at the next garbage collection, unless
// something else still references them.
func (s *Store) EvictIdle(ctx context.Context, mirrored func(name string) bool, cutoff time.Time) ([]Evicted, error) {
	var names []string
	if err := s.walkRepos(ctx, func(name string, _ []string) error {
		if mirrored(name) {
			names = append(names, name)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var out []Evicted
	for _, name := range names {
		var idle []Evicted
		if err := s.eachRevision(ctx, name, func(d digest.Digest, e driver.Entry) {
			if e.ModTime.Before(cutoff) {
				idle = append(idle, Evicted{name, d, e.ModTime})
			}
		}); err != nil {
			return out, fmt.Errorf("list the manifests of %s: %w", name, err)
		}
		for _, ev := range idle {
			err := s.DeleteManifest(ctx, name, ev.Digest)
			if err != nil && !errors.Is(err, ErrManifestUnknown) {
				return out, err
			}
			if err == nil {
				out = append(out, ev)
			}
		}
	}
	return out, nil
}

// UnderPrefix reports whether a repository name lies under prefix ("" or
// ending in /).
func UnderPrefix(name, prefix string) bool {
	return prefix == "" || strings.HasPrefix(name, prefix)
}
