package storage

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// The inventory: read-only listings for derived data (the index behind
// `registry sql` and the /api/ query endpoints). Whoever builds such data
// reads the store through these methods only, never the tree itself, so it
// works the same whatever holds the bytes.

// BlobInfo is one blob of the store.
type BlobInfo struct {
	Digest  digest.Digest
	Size    int64
	ModTime time.Time
}

// Blobs calls fn for every blob of the store, in no particular order; an
// error from fn stops the walk and is returned.
func (s *Store) Blobs(fn func(BlobInfo) error) error {
	var ferr error
	err := s.eachBlob(func(d digest.Digest, info os.FileInfo) {
		if ferr == nil {
			ferr = fn(BlobInfo{Digest: d, Size: info.Size(), ModTime: info.ModTime()})
		}
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// Revision is a manifest stored in a repository.
type Revision struct {
	Digest    digest.Digest
	MediaType string
	Pushed    time.Time // when it was last pushed to this repository
}

// Revisions lists the manifests stored in a repository, sorted by digest.
func (s *Store) Revisions(name string) ([]Revision, error) {
	var out []Revision
	for _, d := range s.revisions(name) {
		path := s.revisionPath(name, d)
		mt, err := readSmallFile(path, 4096)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		r := Revision{Digest: d, MediaType: string(mt)}
		if st, err := os.Stat(path); err == nil {
			r.Pushed = st.ModTime().UTC()
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

// LinkedBlobs lists the blobs a repository may serve (its links), sorted.
func (s *Store) LinkedBlobs(name string) ([]digest.Digest, error) {
	var out []digest.Digest
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		entries, err := os.ReadDir(filepath.Join(s.layersDir(name), alg.String()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if d := digest.NewDigestFromEncoded(alg, e.Name()); ValidateDigest(d) == nil {
				out = append(out, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// ReadSmallBlob returns the bytes of a blob of at most limit bytes (an
// image config); a larger one is refused without being read.
func (s *Store) ReadSmallBlob(d digest.Digest, limit int64) ([]byte, error) {
	if ValidateDigest(d) != nil {
		return nil, fmt.Errorf("%s: %w", d, ErrDigestInvalid)
	}
	b, err := readSmallFile(s.blobPath(d), limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", d, ErrBlobUnknown)
	}
	return b, err
}

// Upload is an upload session in progress.
type Upload struct {
	ID         string
	Repository string
	Size       int64 // bytes received so far
	Started    time.Time
}

// Uploads lists the upload sessions in progress, sorted by id.
func (s *Store) Uploads() ([]Upload, error) {
	entries, err := os.ReadDir(s.uploadsDir())
	if err != nil {
		return nil, err
	}
	var out []Upload
	for _, e := range entries {
		if !ValidUploadID(e.Name()) {
			continue
		}
		b, err := readSmallFile(filepath.Join(s.uploadDir(e.Name()), "info"), 4096)
		var info uploadInfo
		if err != nil || json.Unmarshal(b, &info) != nil {
			continue // finished, cancelled or torn meanwhile
		}
		u := Upload{ID: e.Name(), Repository: info.Repository, Started: info.Started}
		if st, err := os.Stat(filepath.Join(s.uploadDir(e.Name()), "data")); err == nil {
			u.Size = st.Size()
		}
		out = append(out, u)
	}
	return out, nil
}

// Generation names the store's current state of repositories, tags,
// manifests and links: it changes after every write to them, in whichever
// process shares the root, so a cache of derived data is fresh exactly
// while the generation it was built from is still current. Read it before
// reading the store: a write that lands meanwhile changes it again.
// Upload sessions in progress are not part of it.
func (s *Store) Generation() string {
	b, err := readSmallFile(s.generationPath(), 256)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (s *Store) generationPath() string { return filepath.Join(s.root, "generation") }

// changed gives the store a new generation after a write: a fixed-length
// token written over the old one in place (no truncation, no rename, no
// fsync: replacing a file by rename costs milliseconds on ext4, which
// flushes the new file's data). A reader may catch a mix of the two tokens
// while the write is in flight — a value that differs from both, so a cache
// rebuilds, as it must once the write completes. Lost in a crash, a change
// of generation is made up for by the caches' maximum age.
func (s *Store) changed() {
	var b [12]byte
	rand.Read(b[:])
	token := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:]) + "\n"
	f, err := os.OpenFile(s.generationPath(), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	f.WriteAt([]byte(token), 0)
	f.Close()
}
