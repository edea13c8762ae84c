package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage/driver"
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
func (s *Store) Blobs(ctx context.Context, fn func(BlobInfo) error) error {
	var ferr error
	err := s.eachBlob(ctx, func(d digest.Digest, info driver.Info) {
		if ferr == nil {
			ferr = fn(BlobInfo{Digest: d, Size: info.Size, ModTime: info.ModTime})
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
func (s *Store) Revisions(ctx context.Context, name string) ([]Revision, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var entries []driver.Entry
	var digests []digest.Digest
	err := s.eachRevision(ctx, name, func(d digest.Digest, e driver.Entry) {
		digests = append(digests, d)
		entries = append(entries, e)
	})
	if err != nil {
		return nil, err
	}
	var out []Revision
	for i, d := range digests {
		mt, err := s.d.GetContent(ctx, entries[i].Key, 4096)
		if errors.Is(err, driver.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Revision{Digest: d, MediaType: string(mt), Pushed: entries[i].ModTime.UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

// LinkedBlobs lists the blobs a repository may serve (its links), sorted.
func (s *Store) LinkedBlobs(ctx context.Context, name string) ([]digest.Digest, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out []digest.Digest
	prefix := layersPrefix(name)
	err := s.d.List(ctx, prefix, driver.ListOptions{Recursive: true}, func(e driver.Entry) error {
		alg, hex, _ := strings.Cut(strings.TrimPrefix(e.Key, prefix), "/")
		if d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex); ValidateDigest(d) == nil {
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// ReadSmallBlob returns the bytes of a blob of at most limit bytes (an
// image config); a larger one is refused without being read.
func (s *Store) ReadSmallBlob(ctx context.Context, d digest.Digest, limit int64) ([]byte, error) {
	if ValidateDigest(d) != nil {
		return nil, fmt.Errorf("%s: %w", d, ErrDigestInvalid)
	}
	b, err := s.d.GetContent(ctx, blobKey(d), limit)
	return b, notFound(err, ErrBlobUnknown, d.String())
}

// Upload is an upload session in progress.
type Upload struct {
	ID         string
	Repository string
	Size       int64 // bytes received so far
	Started    time.Time
}

// Uploads lists the upload sessions in progress, sorted by id.
func (s *Store) Uploads(ctx context.Context) ([]Upload, error) {
	var ids []string
	err := s.eachSession(ctx, func(e driver.Entry) error {
		if id := lastComponent(e.Key); ValidUploadID(id) {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Upload
	for _, id := range ids {
		up, err := s.d.ResumeUpload(ctx, uploadPrefix(id))
		if err != nil {
			continue // finished, cancelled or torn meanwhile
		}
		var info uploadInfo
		state := up.State()
		if len(state) == 0 { // left by an older registry
			state, _ = s.d.GetContent(ctx, uploadInfoKey(id), 4096)
		}
		if json.Unmarshal(state, &info) != nil {
			continue
		}
		out = append(out, Upload{ID: id, Repository: info.Repository, Size: up.Size(), Started: info.Started})
	}
	return out, nil
}

const generationKey = "generation"

// Generation names the store's current state of repositories, tags,
// manifests and links: it changes after every write to them, in whichever
// process shares the store, so a cache of derived data is fresh exactly
// while the generation it was built from is still current. Read it before
// reading the store: a write that lands meanwhile changes it again.
// Upload sessions in progress are not part of it.
func (s *Store) Generation(ctx context.Context) string {
	var b []byte
	var err error
	if s.root != "" {
		b, err = os.ReadFile(filepath.Join(s.root, generationKey))
	} else {
		b, err = s.d.GetContent(ctx, generationKey, 256)
	}
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// changed gives the store a new generation after a write. On the
// filesystem it is a fixed-length token written over the old one in place
// (no truncation, no rename, no fsync: replacing a file by rename costs
// milliseconds on ext4, which flushes the new file's data). A reader may
// catch a mix of the two tokens while the write is in flight — a value that
// differs from both, so a cache rebuilds, as it must once the write
// completes. Lost in a crash, a change of generation is made up for by the
// caches' maximum age. Elsewhere (S3) it is a small object replaced whole.
func (s *Store) changed(ctx context.Context) {
	var b [12]byte
	rand.Read(b[:])
	token := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:]) + "\n"
	if s.root == "" {
		s.put(context.WithoutCancel(ctx), generationKey, token)
		return
	}
	// Plain system calls: an *os.File costs four more.
	fd, err := syscall.Open(filepath.Join(s.root, generationKey), syscall.O_WRONLY|syscall.O_CREAT|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return
	}
	syscall.Pwrite(fd, []byte(token), 0)
	syscall.Close(fd)
}
