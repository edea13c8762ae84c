package storage

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// An upload session is a directory uploads/<id>/ holding "info" (which
// repository, when, which digest algorithm) and "data" (the bytes so far).
// The running hash lives in memory; after a restart it is rebuilt from data,
// so a session survives the process.

var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidUploadID reports whether id has the shape of an upload id.
func ValidUploadID(id string) bool { return uploadIDPattern.MatchString(id) }

type uploadInfo struct {
	Repository string    `json:"repository"`
	Started    time.Time `json:"started"`
	Algorithm  string    `json:"algorithm"`
	Client     string    `json:"client,omitempty"`
}

type uploadState struct {
	mu   sync.Mutex
	info uploadInfo
	h    hash.Hash // hash of data[:size]; nil when it must be rebuilt
	size int64
	gone bool // finished or cancelled
}

// StartUpload opens a new upload session for the repository.
func (s *Store) StartUpload(ctx context.Context, name string, alg digest.Algorithm) (string, error) {
	return s.StartUploadFor(ctx, name, alg, "", 0)
}

// StartUploadFor opens a session for a client (its address), refusing with
// ErrTooManyUploads when the client already holds max open sessions
// (max 0: no limit).
func (s *Store) StartUploadFor(ctx context.Context, name string, alg digest.Algorithm, client string, max int) (string, error) {
	id := newID()
	info := uploadInfo{Repository: name, Started: time.Now().UTC(), Algorithm: alg.String(), Client: client}
	st := &uploadState{info: info, h: newHash(alg)}
	// Count and reserve at once: concurrent starts cannot all see room.
	s.mu.Lock()
	if max > 0 && client != "" {
		open := 0
		for _, other := range s.uploads {
			if other.info.Client == client {
				open++
			}
		}
		if open >= max {
			s.mu.Unlock()
			return "", fmt.Errorf("%s holds %d open upload sessions: %w", client, open, ErrTooManyUploads)
		}
	}
	s.uploads[id] = st
	s.mu.Unlock()
	if err := s.createSession(ctx, id, info); err != nil {
		s.mu.Lock()
		delete(s.uploads, id)
		s.mu.Unlock()
		return "", err
	}
	return id, nil
}

// createSession writes a new session's directory: info and an empty data.
func (s *Store) createSession(ctx context.Context, id string, info uploadInfo) error {
	b, _ := json.Marshal(info)
	dir := s.uploadDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Not fsynced: a session lost to a power cut is one the client starts
	// again (it was acknowledged as a session, not as stored bytes; those
	// are made durable when the blob is committed). An info file torn by a
	// crash reads as an unknown session.
	if err := os.WriteFile(filepath.Join(dir, "info"), b, 0o644); err != nil {
		os.RemoveAll(dir)
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	return f.Close()
}

// session finds the session and locks it; the caller calls unlock.
func (s *Store) session(ctx context.Context, name, id string) (*uploadState, error) {
	if !ValidUploadID(id) {
		return nil, fmt.Errorf("upload %q: %w", id, ErrUploadUnknown)
	}
	s.mu.Lock()
	st := s.uploads[id]
	if st == nil {
		b, err := readSmallFile(filepath.Join(s.uploadDir(id), "info"), 4096)
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("upload %s: %w", id, ErrUploadUnknown)
		}
		st = &uploadState{size: -1}
		if json.Unmarshal(b, &st.info) != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("upload %s: unreadable info: %w", id, ErrUploadUnknown)
		}
		s.uploads[id] = st
	}
	s.mu.Unlock()
	st.mu.Lock()
	if st.gone || st.info.Repository != name {
		st.mu.Unlock()
		return nil, fmt.Errorf("upload %s in %s: %w", id, name, ErrUploadUnknown)
	}
	if st.h == nil || st.size < 0 {
		if err := s.rehash(ctx, id, st); err != nil {
			st.mu.Unlock()
			return nil, err
		}
	}
	return st, nil
}

// rehash rebuilds the running hash from the data file (after a restart or
// a failed write).
func (s *Store) rehash(ctx context.Context, id string, st *uploadState) error {
	f, err := os.Open(filepath.Join(s.uploadDir(id), "data"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("upload %s: %w", id, ErrUploadUnknown)
		}
		return err
	}
	defer f.Close()
	h := newHash(digest.Algorithm(st.info.Algorithm))
	n, err := copyHashed(io.Discard, h, f)
	if err != nil {
		return err
	}
	st.h, st.size = h, n
	return nil
}

// UploadStatus returns how many bytes the session holds.
func (s *Store) UploadStatus(ctx context.Context, name, id string) (int64, error) {
	st, err := s.session(ctx, name, id)
	if err != nil {
		return 0, err
	}
	defer st.mu.Unlock()
	return st.size, nil
}

// AppendUpload appends r to the session. With start >= 0 (a Content-Range
// was sent) the chunk must begin exactly where the data ends; with
// length >= 0 the body must be exactly that long. It returns the new size.
func (s *Store) AppendUpload(ctx context.Context, name, id string, start, length int64, r io.Reader) (int64, error) {
	st, err := s.session(ctx, name, id)
	if err != nil {
		return 0, err
	}
	defer st.mu.Unlock()
	return s.appendLocked(ctx, id, st, start, length, r)
}

func (s *Store) appendLocked(ctx context.Context, id string, st *uploadState, start, length int64, r io.Reader) (int64, error) {
	if start >= 0 && start != st.size {
		return st.size, fmt.Errorf("chunk starts at %d, upload holds %d bytes: %w", start, st.size, ErrRangeInvalid)
	}
	f, err := os.OpenFile(filepath.Join(s.uploadDir(id), "data"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return st.size, err
	}
	n, err := copyHashed(s.writer(newFlushBehind(f, st.size)), st.h, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	st.size += n
	if err != nil {
		st.h = nil // rebuilt from the file on next use
		return st.size, err
	}
	if length >= 0 && n != length {
		// The chunk is not what the client announced: take it back whole.
		if os.Truncate(filepath.Join(s.uploadDir(id), "data"), st.size-n) == nil {
			st.size -= n
		}
		st.h = nil
		return st.size, fmt.Errorf("chunk held %d bytes, Content-Length said %d: %w", n, length, ErrSizeInvalid)
	}
	return st.size, nil
}

// FinishUpload appends the optional final chunk r, verifies the whole
// upload against want, moves it into the blob tree and links it into the
// repository. It returns the blob's size.
func (s *Store) FinishUpload(ctx context.Context, name, id string, want digest.Digest, start, length int64, r io.Reader) (int64, error) {
	st, err := s.session(ctx, name, id)
	if err != nil {
		return 0, err
	}
	defer st.mu.Unlock()
	if r != nil {
		undo := s.mark(id, st)
		if err := s.appendAndVerify(ctx, id, st, want, start, length, r); err != nil {
			undo() // a failed close keeps the session as it was: the client may retry
			return st.size, err
		}
	} else if err := s.verify(ctx, id, st, want); err != nil {
		return st.size, err
	}
	f, err := os.OpenFile(filepath.Join(s.uploadDir(id), "data"), os.O_RDWR, 0)
	if err != nil {
		return st.size, err
	}
	if err := s.commitBlob(ctx, f, want); err != nil {
		return st.size, err
	}
	if err := s.LinkBlob(ctx, name, want); err != nil {
		return st.size, err
	}
	s.dropSession(ctx, id, st)
	return st.size, nil
}

func (s *Store) appendAndVerify(ctx context.Context, id string, st *uploadState, want digest.Digest, start, length int64, r io.Reader) error {
	if _, err := s.appendLocked(ctx, id, st, start, length, r); err != nil {
		return err
	}
	return s.verify(ctx, id, st, want)
}

// verify checks the session's bytes against the digest the client gave.
func (s *Store) verify(ctx context.Context, id string, st *uploadState, want digest.Digest) error {
	h := st.h
	if want.Algorithm().String() != st.info.Algorithm {
		tmp := &uploadState{info: st.info}
		tmp.info.Algorithm = want.Algorithm().String()
		if err := s.rehash(ctx, id, tmp); err != nil {
			return err
		}
		h = tmp.h
	}
	if got := digest.NewDigest(want.Algorithm(), h); got != want {
		return fmt.Errorf("computed %s, client said %s: %w", got, want, ErrDigestInvalid)
	}
	return nil
}

// mark remembers where a session stands (its size and running hash) and
// returns a function that takes it back there.
func (s *Store) mark(id string, st *uploadState) func() {
	size := st.size
	var saved []byte
	if m, ok := st.h.(encoding.BinaryMarshaler); ok {
		saved, _ = m.MarshalBinary()
	}
	return func() {
		if st.size == size && st.h != nil {
			return
		}
		if os.Truncate(filepath.Join(s.uploadDir(id), "data"), size) != nil {
			st.h, st.size = nil, -1 // rebuilt from the file on next use
			return
		}
		st.size = size
		st.h = newHash(digest.Algorithm(st.info.Algorithm))
		if u, ok := st.h.(encoding.BinaryUnmarshaler); !ok || saved == nil || u.UnmarshalBinary(saved) != nil {
			st.h = nil
		}
	}
}

// CancelUpload ends a session and deletes its data.
func (s *Store) CancelUpload(ctx context.Context, name, id string) error {
	st, err := s.session(ctx, name, id)
	if err != nil {
		return err
	}
	defer st.mu.Unlock()
	s.dropSession(ctx, id, st)
	return nil
}

func (s *Store) dropSession(ctx context.Context, id string, st *uploadState) {
	st.gone = true
	s.mu.Lock()
	delete(s.uploads, id)
	s.mu.Unlock()
	os.RemoveAll(s.uploadDir(id))
}
