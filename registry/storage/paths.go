package storage

import (
	"path/filepath"

	"github.com/opencontainers/go-digest"
)

// Every path the store touches is computed here, from values that were
// validated before (repository names, tags, digests and upload ids never
// contain "..", NUL or a backslash), so nothing can point outside the root.

func (s *Store) blobPath(d digest.Digest) string {
	hex := d.Encoded()
	return filepath.Join(s.root, "blobs", d.Algorithm().String(), hex[:2], hex)
}

func (s *Store) blobsDir() string { return filepath.Join(s.root, "blobs") }

func (s *Store) reposDir() string { return filepath.Join(s.root, "repositories") }

func (s *Store) repoDir(name string) string {
	return filepath.Join(s.reposDir(), filepath.FromSlash(name))
}

func (s *Store) layerLinkPath(name string, d digest.Digest) string {
	return filepath.Join(s.repoDir(name), "_layers", d.Algorithm().String(), d.Encoded())
}

func (s *Store) layersDir(name string) string { return filepath.Join(s.repoDir(name), "_layers") }

func (s *Store) revisionsDir(name string) string {
	return filepath.Join(s.repoDir(name), "_manifests", "revisions")
}

func (s *Store) revisionPath(name string, d digest.Digest) string {
	return filepath.Join(s.revisionsDir(name), d.Algorithm().String(), d.Encoded())
}

func (s *Store) tagsDir(name string) string {
	return filepath.Join(s.repoDir(name), "_manifests", "tags")
}

func (s *Store) tagPath(name, tag string) string { return filepath.Join(s.tagsDir(name), tag) }

func (s *Store) referrersDir(name string, subject digest.Digest) string {
	return filepath.Join(s.repoDir(name), "_referrers", subject.Algorithm().String(), subject.Encoded())
}

func (s *Store) referrerPath(name string, subject, referrer digest.Digest) string {
	return filepath.Join(s.referrersDir(name, subject), referrer.Algorithm().String()+"-"+referrer.Encoded())
}

func (s *Store) uploadsDir() string { return filepath.Join(s.root, "uploads") }

func (s *Store) uploadDir(id string) string { return filepath.Join(s.uploadsDir(), id) }

func (s *Store) tmpDir() string { return filepath.Join(s.root, "tmp") }
