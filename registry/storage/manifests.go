package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// PutManifest validates and stores a manifest in the repository. ref is the
// tag or digest it was pushed to; tags are further tags to point at it. The
// bytes are stored exactly as received; the media type is remembered in the
// repository's revision link.
func (s *Store) PutManifest(ctx context.Context, name, ref, contentType string, body []byte, tags []string) (digest.Digest, *Manifest, error) {
	if len(body) > MaxManifestSize {
		return "", nil, fmt.Errorf("%d bytes: %w", len(body), ErrManifestTooLarge)
	}
	m, err := ParseManifest(contentType, body)
	if err != nil {
		return "", nil, err
	}
	alg := digest.SHA256
	if d, ok := AsDigest(ref); ok {
		alg = d.Algorithm()
	} else {
		tags = append([]string{ref}, tags...)
	}
	d := alg.FromBytes(body)
	if want, ok := AsDigest(ref); ok && want != d {
		return "", nil, fmt.Errorf("manifest bytes hash to %s, not %s: %w", d, want, ErrDigestInvalid)
	}
	release, err := s.lockGC(false)
	if err != nil {
		return "", nil, err
	}
	defer release()
	if err := s.validateReferences(ctx, name, m); err != nil {
		return "", nil, err
	}
	if err := s.writeBlob(ctx, d, body); err != nil {
		return "", nil, err
	}
	unlock := s.repoLocks.lock(name)
	defer unlock()
	newRevision, firstManifest := !exists(s.revisionPath(name, d)), !s.hasManifests(ctx, name)
	if !newRevision { // pushed again: young again to garbage collection
		if err := s.touch(ctx, s.revisionPath(name, d)); err != nil {
			return "", nil, err
		}
	}
	if err := s.writeLink(ctx, s.revisionPath(name, d), m.MediaType); err != nil {
		return "", nil, err
	}
	if newRevision {
		s.stats.manifests.Add(1)
	}
	if firstManifest {
		s.stats.repos.Add(1)
	}
	if m.Subject != nil {
		if err := s.addReferrer(ctx, name, d, int64(len(body)), m); err != nil {
			return "", nil, err
		}
	}
	for _, tag := range tags {
		if err := s.writeLink(ctx, s.tagPath(name, tag), d.String()); err != nil {
			return "", nil, err
		}
	}
	return d, m, nil
}

// writeLink writes a small file unless it already holds content.
func (s *Store) writeLink(ctx context.Context, path, content string) error {
	if b, err := readSmallFile(path, 4096); err == nil && string(b) == content {
		return nil
	}
	return s.writeFileAtomic(ctx, path, []byte(content))
}

// validateReferences checks that everything the manifest points at is in
// the repository: config and layers (except non-distributable layers with
// urls) as blobs of the declared size, child manifests as manifests.
func (s *Store) validateReferences(ctx context.Context, name string, m *Manifest) error {
	var blobs []v1.Descriptor
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	for _, l := range m.Layers {
		if len(l.URLs) == 0 {
			blobs = append(blobs, l)
		}
	}
	for _, b := range blobs {
		size, err := s.StatBlob(ctx, name, b.Digest)
		if err != nil {
			if errors.Is(err, ErrBlobUnknown) {
				return fmt.Errorf("blob %s: %w", b.Digest, ErrManifestBlob)
			}
			return err
		}
		if size != b.Size {
			return fmt.Errorf("descriptor of %s says %d bytes, the blob has %d: %w", b.Digest, b.Size, size, ErrManifestInvalid)
		}
		if err := s.touchBlob(ctx, b.Digest); err != nil {
			return err
		}
	}
	for _, c := range m.Manifests {
		if !exists(s.revisionPath(name, c.Digest)) {
			return fmt.Errorf("manifest %s: %w", c.Digest, ErrManifestBlob)
		}
		if size, ok := s.BlobSize(ctx, c.Digest); ok && size != c.Size {
			return fmt.Errorf("descriptor of %s says %d bytes, the manifest has %d: %w", c.Digest, c.Size, size, ErrManifestInvalid)
		}
		if err := s.touchBlob(ctx, c.Digest); err != nil {
			return err
		}
	}
	return nil
}

// ResolveManifest turns a tag or digest into the digest of a manifest
// stored in the repository, with its media type.
func (s *Store) ResolveManifest(ctx context.Context, name, ref string) (digest.Digest, string, error) {
	d, ok := AsDigest(ref)
	if !ok {
		b, err := readSmallFile(s.tagPath(name, ref), 4096)
		if err != nil {
			return "", "", fmt.Errorf("tag %s in %s: %w", ref, name, ErrManifestUnknown)
		}
		d = digest.Digest(strings.TrimSpace(string(b)))
		if ValidateDigest(d) != nil {
			return "", "", fmt.Errorf("tag %s in %s holds %q: %w", ref, name, b, ErrManifestUnknown)
		}
	}
	mt, err := readSmallFile(s.revisionPath(name, d), 4096)
	if err != nil {
		return "", "", fmt.Errorf("manifest %s in %s: %w", d, name, ErrManifestUnknown)
	}
	return d, string(mt), nil
}

// GetManifest returns a manifest's bytes, media type and digest.
func (s *Store) GetManifest(ctx context.Context, name, ref string) ([]byte, string, digest.Digest, error) {
	d, mt, err := s.ResolveManifest(ctx, name, ref)
	if err != nil {
		return nil, "", "", err
	}
	if body, ok := s.manifests.get(d); ok {
		return body, mt, d, nil
	}
	body, err := readSmallFile(s.blobPath(d), MaxManifestSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", "", fmt.Errorf("manifest %s: %w", d, ErrManifestUnknown)
		}
		return nil, "", "", err
	}
	s.manifests.put(d, body)
	return body, mt, d, nil
}

// DeleteManifest removes a manifest from the repository, with every tag
// that points at it and its entry in its subject's referrers.
func (s *Store) DeleteManifest(ctx context.Context, name string, d digest.Digest) error {
	body, mt, _, err := s.GetManifest(ctx, name, d.String())
	if err != nil {
		return err
	}
	unlock := s.repoLocks.lock(name)
	defer unlock()
	tags, err := s.Tags(ctx, name)
	if err != nil && !errors.Is(err, ErrNameUnknown) {
		return err
	}
	for _, t := range tags {
		if td, _, err := s.ResolveManifest(ctx, name, t); err == nil && td == d {
			if err := s.removeDurably(ctx, s.tagPath(name, t)); err != nil {
				return err
			}
		}
	}
	var subject digest.Digest
	if m, err := ParseManifest(mt, body); err == nil && m.Subject != nil {
		subject = m.Subject.Digest
	}
	return s.unlinkManifest(ctx, name, d, subject, nil)
}

// unlinkManifest removes a manifest's entry in its subject's referrers
// (subject "" for none) and its revision link, durably: the directories
// are synced now, or added to toSync for the caller to sync once for many.
// The caller holds the repository's lock and has dealt with the tags.
func (s *Store) unlinkManifest(ctx context.Context, name string, d, subject digest.Digest, toSync map[string]bool) error {
	syncParent := s.syncParent
	if toSync != nil {
		syncParent = func(path string) error { toSync[filepath.Dir(path)] = true; return nil }
	}
	if subject != "" {
		if err := removeFile(s.referrerPath(name, subject, d)); err != nil {
			return err
		}
		if err := syncParent(s.referrerPath(name, subject, d)); err != nil {
			return err
		}
		pruneEmptyDirs(s.referrersDir(name, subject), s.repoDir(name))
	}
	if err := os.Remove(s.revisionPath(name, d)); err != nil {
		if errors.Is(err, fs.ErrNotExist) { // a concurrent delete won
			return fmt.Errorf("manifest %s in %s: %w", d, name, ErrManifestUnknown)
		}
		return err
	}
	if err := syncParent(s.revisionPath(name, d)); err != nil {
		return err
	}
	s.stats.manifests.Add(-1)
	if !s.hasManifests(ctx, name) {
		s.stats.repos.Add(-1)
	}
	return nil
}

// AsDigest reports whether ref is a digest (rather than a tag).
func AsDigest(ref string) (digest.Digest, bool) {
	if !strings.Contains(ref, ":") {
		return "", false
	}
	return digest.Digest(ref), true
}
