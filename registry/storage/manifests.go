package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/layerlab/layerlab/registry/storage/driver"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// PutManifest validates and stores a manifest in the repository. ref is the
// tag or digest it was pushed to; tags are further tags to point at it. The
// bytes are stored exactly as received; the media type is remembered in the
// repository's revision link.
func (s *Store) PutManifest(ctx context.Context, name, ref, contentType string, body []byte, tags []string) (digest.Digest, *Manifest, error) {
	return s.putManifest(ctx, name, ref, contentType, body, tags, true)
}

// putManifest is PutManifest; with checkRefs false the blobs and child
// manifests it references need not be in the repository yet (a mirror's
// cache fetches them when they are pulled).
func (s *Store) putManifest(ctx context.Context, name, ref, contentType string, body []byte, tags []string, checkRefs bool) (digest.Digest, *Manifest, error) {
	if err := checkName(name); err != nil {
		return "", nil, err
	}
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
	for _, tag := range tags {
		if err := checkTag(tag); err != nil {
			return "", nil, err
		}
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
	if checkRefs {
		if err := s.validateReferences(ctx, name, m); err != nil {
			return "", nil, err
		}
	}
	if err := s.writeBlob(ctx, d, body); err != nil {
		return "", nil, err
	}
	unlock := s.repoLocks.lock(name)
	defer unlock()
	_, err = s.d.Stat(ctx, revisionKey(name, d))
	newRevision := err != nil
	firstManifest := newRevision && !s.hasManifests(ctx, name) // a stored revision is a manifest
	// The catalog entry first: a crash leaves one too many, not one missing.
	if firstManifest {
		if err := s.indexAdd(ctx, name); err != nil {
			return "", nil, err
		}
	}
	if newRevision {
		err = s.put(ctx, revisionKey(name, d), m.MediaType)
	} else { // pushed again: young again to garbage collection
		if err = s.touch(ctx, revisionKey(name, d)); err == nil {
			err = s.writeLink(ctx, revisionKey(name, d), m.MediaType)
		}
	}
	if firstManifest {
		// Again after the manifest: another process may have removed the
		// entry meanwhile, on seeing the repository without one. (The push
		// stands if this fails: the entry made above is most likely there.)
		s.indexSync(ctx, name)
	}
	if err != nil {
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
	defer s.changed(ctx)
	for _, tag := range tags {
		if err := s.writeLink(ctx, tagKey(name, tag), d.String()); err != nil {
			return "", nil, err
		}
	}
	return d, m, nil
}

// writeLink writes a small object unless it already holds content.
func (s *Store) writeLink(ctx context.Context, key, content string) error {
	if b, err := s.d.GetContent(ctx, key, int64(len(content))); err == nil && string(b) == content {
		return nil
	}
	return s.put(ctx, key, content)
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
		if err := s.touchReferenced(ctx, name, b.Digest); err != nil {
			return err
		}
	}
	for _, c := range m.Manifests {
		if checkDigest(c.Digest) != nil {
			return fmt.Errorf("manifest %s: %w", c.Digest, ErrManifestInvalid)
		}
		if _, err := s.d.Stat(ctx, revisionKey(name, c.Digest)); err != nil {
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
	if err := checkName(name); err != nil {
		return "", "", err
	}
	d, ok := AsDigest(ref)
	if ok {
		if err := checkDigest(d); err != nil {
			return "", "", err
		}
	} else {
		if err := checkTag(ref); err != nil {
			return "", "", err
		}
		b, err := s.d.GetContent(ctx, tagKey(name, ref), 4096)
		if err != nil {
			return "", "", notFound(err, ErrManifestUnknown, "tag "+ref+" in "+name)
		}
		d = digest.Digest(strings.TrimSpace(string(b)))
		if ValidateDigest(d) != nil {
			return "", "", fmt.Errorf("tag %s in %s holds %q: %w", ref, name, b, ErrManifestUnknown)
		}
	}
	mt, err := s.d.GetContent(ctx, revisionKey(name, d), 4096)
	if err != nil {
		return "", "", notFound(err, ErrManifestUnknown, "manifest "+d.String()+" in "+name)
	}
	return d, string(mt), nil
}

// GetManifest returns a manifest's bytes, media type and digest.
func (s *Store) GetManifest(ctx context.Context, name, ref string) ([]byte, string, digest.Digest, error) {
	return s.getManifest(ctx, name, ref, true)
}

// getManifest is GetManifest; keep says whether a manifest read from the
// driver joins the cache of recent ones: not for a walk of the whole
// store (du, gc), which would fill it with manifests nobody asked for and
// push out those clients are pulling.
func (s *Store) getManifest(ctx context.Context, name, ref string, keep bool) ([]byte, string, digest.Digest, error) {
	d, mt, err := s.ResolveManifest(ctx, name, ref)
	if err != nil {
		return nil, "", "", err
	}
	if body, ok := s.manifests.get(d); ok {
		return body, mt, d, nil
	}
	body, err := s.d.GetContent(ctx, blobKey(d), MaxManifestSize)
	if err != nil {
		return nil, "", "", notFound(err, ErrManifestUnknown, "manifest "+d.String())
	}
	if keep {
		s.manifests.put(d, body)
	}
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
	defer s.changed(ctx)
	tags, err := s.Tags(ctx, name)
	if err != nil && !errors.Is(err, ErrNameUnknown) {
		return err
	}
	for _, t := range tags {
		if td, _, err := s.ResolveManifest(ctx, name, t); err == nil && td == d {
			if err := s.d.Delete(ctx, tagKey(name, t)); err != nil && !errors.Is(err, driver.ErrNotFound) {
				return err
			}
		}
	}
	var subject digest.Digest
	if m, err := ParseManifest(mt, body); err == nil && m.Subject != nil {
		subject = m.Subject.Digest
	}
	return s.unlinkManifest(ctx, name, d, subject)
}

// unlinkManifest removes a manifest's entry in its subject's referrers
// (subject "" for none) and its revision link; the driver makes each
// removal durable. The caller holds the repository's lock and has dealt
// with the tags.
func (s *Store) unlinkManifest(ctx context.Context, name string, d, subject digest.Digest) error {
	if subject != "" {
		if err := s.d.Delete(ctx, referrerKey(name, subject, d)); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return err
		}
	}
	if err := s.d.Delete(ctx, revisionKey(name, d)); err != nil {
		// ErrNotFound: a concurrent delete won
		return notFound(err, ErrManifestUnknown, "manifest "+d.String()+" in "+name)
	}
	s.stats.manifests.Add(-1)
	if !s.hasManifests(ctx, name) {
		s.stats.repos.Add(-1)
		// An entry that fails to go is one too many: the catalog lists the
		// repository until the next collection reconciles the index.
		s.indexSync(ctx, name)
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
