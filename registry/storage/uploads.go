package storage

import (
	"context"
	"crypto/rand"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// An upload session is a driver upload at uploads/<id>: its bytes, and as
// its state what the store needs to continue it — which repository, when,
// the digest algorithm, and the running hash marshalled (Go's sha256 and
// sha512 states are). Nothing lives only in this process's memory, so the
// POST, each PATCH and the final PUT may be served by different processes
// sharing one store. A session left by an older registry (uploads/<id>/info
// and data, no state) resumes too: its hash is rebuilt from its bytes.

var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidUploadID reports whether id has the shape of an upload id.
func ValidUploadID(id string) bool { return uploadIDPattern.MatchString(id) }

// newID returns a random 128-bit identifier in hex.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

type uploadInfo struct {
	Repository string    `json:"repository"`
	Started    time.Time `json:"started"`
	Algorithm  string    `json:"algorithm"`
	Client     string    `json:"client,omitempty"`
	Hash       []byte    `json:"hash,omitempty"` // the running hash, marshalled (in the state only)
	// Legacy: begun by an older registry, which left an info object beside
	// the session for the store to remove.
	Legacy bool `json:"legacy,omitempty"`
}

// uploadState is what this process knows of a session: the lock that keeps
// its own requests from interleaving, and who opened it (for the limit per
// client).
type uploadState struct {
	mu      sync.Mutex
	client  string // set when the session starts here; read under s.mu
	started bool   // its session exists in the store (set under s.mu)
	gone    bool   // finished or cancelled here
}

// session is a session resumed for one request.
type session struct {
	st   *uploadState
	up   driver.Upload
	info uploadInfo
	h    hash.Hash // hash of the session's bytes
}

// StartUpload opens a new upload session for the repository.
func (s *Store) StartUpload(ctx context.Context, name string, alg digest.Algorithm) (string, error) {
	return s.StartUploadFor(ctx, name, alg, "", 0)
}

// StartUploadFor opens a session for a client (its address), refusing with
// ErrTooManyUploads when the client already holds max open sessions
// (max 0: no limit).
func (s *Store) StartUploadFor(ctx context.Context, name string, alg digest.Algorithm, client string, max int) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if !Supported(alg) {
		return "", fmt.Errorf("algorithm %s: %w", alg, ErrDigestInvalid)
	}
	id := newID()
	info := uploadInfo{Repository: name, Started: time.Now().UTC(), Algorithm: alg.String(), Client: client}
	st := &uploadState{client: client}
	// Count and reserve at once: concurrent starts cannot all see room.
	s.mu.Lock()
	if max > 0 && client != "" {
		open := s.openFor(client)
		if open >= max { // replicas: some may have ended elsewhere (uploads_replicas.go)
			s.mu.Unlock()
			s.forgetGoneFor(ctx, client)
			s.mu.Lock()
			open = s.openFor(client)
		}
		if open >= max {
			s.mu.Unlock()
			return "", fmt.Errorf("%s holds %d open upload sessions: %w", client, open, ErrTooManyUploads)
		}
	}
	s.uploads[id] = st
	s.mu.Unlock()
	state, err := encodeState(info, newHash(alg))
	if err == nil {
		_, err = s.d.StartUpload(ctx, uploadPrefix(id), state)
	}
	if err != nil {
		s.forget(id)
		return "", err
	}
	s.mu.Lock()
	st.started = true
	s.mu.Unlock()
	return id, nil
}

// encodeState is a session's stored state: its info with the running hash.
func encodeState(info uploadInfo, h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, errors.New("hash state cannot be saved")
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	info.Hash = b
	return json.Marshal(info)
}

// session resumes a session for a request, under this process's lock of
// it; the caller calls s.release(sess).
func (s *Store) session(ctx context.Context, name, id string) (*session, error) {
	if !ValidUploadID(id) {
		return nil, fmt.Errorf("upload %q: %w", id, ErrUploadUnknown)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	st := s.uploads[id]
	known := st != nil
	if !known {
		st = &uploadState{}
		s.uploads[id] = st
	}
	s.mu.Unlock()
	st.mu.Lock()
	sess, err := s.resume(ctx, name, id, st)
	if err != nil {
		st.mu.Unlock()
		if !known || errors.Is(err, ErrUploadUnknown) {
			s.forget(id)
		}
		return nil, err
	}
	return sess, nil
}

func (s *Store) resume(ctx context.Context, name, id string, st *uploadState) (*session, error) {
	unknown := fmt.Errorf("upload %s in %s: %w", id, name, ErrUploadUnknown)
	if st.gone {
		return nil, unknown
	}
	up, err := s.d.ResumeUpload(ctx, uploadPrefix(id))
	if err != nil {
		return nil, notFound(err, ErrUploadUnknown, "upload "+id)
	}
	sess := &session{st: st, up: up}
	if len(up.State()) == 0 { // left by an older registry
		b, err := s.d.GetContent(ctx, uploadInfoKey(id), 4096)
		if err != nil || json.Unmarshal(b, &sess.info) != nil {
			return nil, unknown
		}
		sess.info.Legacy = true
	} else if json.Unmarshal(up.State(), &sess.info) != nil {
		return nil, unknown
	}
	if sess.info.Repository != name || !Supported(digest.Algorithm(sess.info.Algorithm)) {
		return nil, unknown
	}
	sess.h = newHash(digest.Algorithm(sess.info.Algorithm))
	if u, ok := sess.h.(encoding.BinaryUnmarshaler); !ok || len(sess.info.Hash) == 0 || u.UnmarshalBinary(sess.info.Hash) != nil {
		if sess.h, err = s.rehash(ctx, up, digest.Algorithm(sess.info.Algorithm)); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// rehash hashes the session's bytes from the start.
func (s *Store) rehash(ctx context.Context, up driver.Upload, alg digest.Algorithm) (hash.Hash, error) {
	r, err := up.Reader(ctx)
	if err != nil {
		return nil, notFound(err, ErrUploadUnknown, "upload "+up.Key())
	}
	defer r.Close()
	h := newHash(alg)
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return h, nil
}

func (s *Store) release(sess *session) { sess.st.mu.Unlock() }

// forget drops a session from this process's table.
func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.uploads, id)
	s.mu.Unlock()
}

// UploadStatus returns how many bytes the session holds.
func (s *Store) UploadStatus(ctx context.Context, name, id string) (int64, error) {
	sess, err := s.session(ctx, name, id)
	if err != nil {
		return 0, err
	}
	defer s.release(sess)
	return sess.up.Size(), nil
}

// AppendUpload appends r to the session. With start >= 0 (a Content-Range
// was sent) the chunk must begin exactly where the data ends; with
// length >= 0 the body must be exactly that long. It returns the new size.
// A body cut off mid-way keeps what arrived (the client resumes from the
// session's Range); a chunk of the wrong length is taken back whole.
func (s *Store) AppendUpload(ctx context.Context, name, id string, start, length int64, r io.Reader) (int64, error) {
	sess, err := s.session(ctx, name, id)
	if err != nil {
		return 0, err
	}
	defer s.release(sess)
	if start >= 0 && start != sess.up.Size() {
		return sess.up.Size(), fmt.Errorf("chunk starts at %d, upload holds %d bytes: %w", start, sess.up.Size(), ErrRangeInvalid)
	}
	body := &cutBody{r: r}
	_, err = sess.up.Append(ctx, io.TeeReader(body, sess.h), func(n int64) ([]byte, error) {
		if body.err == nil && length >= 0 && n != length {
			return nil, fmt.Errorf("chunk held %d bytes, Content-Length said %d: %w", n, length, ErrSizeInvalid)
		}
		return encodeState(sess.info, sess.h)
	})
	if err == nil {
		err = body.err
	}
	return sess.up.Size(), err
}

// cutBody ends at the first read error, remembering it, so that the bytes
// read before it are stored.
type cutBody struct {
	r   io.Reader
	err error
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
		err = io.EOF
	}
	return n, err
}

// FinishUpload appends the optional final chunk r, verifies the whole
// upload against want, moves it into the blob tree and links it into the
// repository. It returns the blob's size. A failed close keeps the session
// as it was: the client may retry.
func (s *Store) FinishUpload(ctx context.Context, name, id string, want digest.Digest, start, length int64, r io.Reader) (int64, error) {
	return s.finishUpload(ctx, name, id, want, start, length, r, nil)
}

// finishUpload is FinishUpload; verified, when set, is called once the
// digest matched, before the blob is made durable and visible.
func (s *Store) finishUpload(ctx context.Context, name, id string, want digest.Digest, start, length int64, r io.Reader, verified func()) (int64, error) {
	if err := checkDigest(want); err != nil {
		return 0, err
	}
	sess, err := s.session(ctx, name, id)
	if err != nil {
		return 0, err
	}
	defer s.release(sess)
	sameAlg := want.Algorithm().String() == sess.info.Algorithm
	if r != nil && sess.up.Size() == 0 && s.root == "" && start <= 0 {
		// The whole blob in the closing PUT, its digest known up front: on
		// object storage it goes straight to its key, not into the session
		// and then copied (the filesystem's commit is a link: no copy).
		n, err := s.PutBlob(ctx, name, want, length, r)
		if err != nil {
			return 0, err
		}
		if err := sess.up.Cancel(ctx); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return n, err
		}
		s.ended(ctx, id, sess)
		return n, nil
	}
	if r != nil {
		if start >= 0 && start != sess.up.Size() {
			return sess.up.Size(), fmt.Errorf("chunk starts at %d, upload holds %d bytes: %w", start, sess.up.Size(), ErrRangeInvalid)
		}
		_, err := sess.up.Append(ctx, io.TeeReader(r, sess.h), func(n int64) ([]byte, error) {
			if length >= 0 && n != length {
				return nil, fmt.Errorf("chunk held %d bytes, Content-Length said %d: %w", n, length, ErrSizeInvalid)
			}
			if sameAlg {
				if err := verifyHash(sess.h, want); err != nil {
					return nil, err
				}
			}
			return encodeState(sess.info, sess.h)
		})
		if err != nil {
			return sess.up.Size(), err
		}
	}
	h := sess.h
	if !sameAlg { // a second algorithm: hash the bytes again
		if h, err = s.rehash(ctx, sess.up, want.Algorithm()); err != nil {
			return sess.up.Size(), err
		}
	}
	if err := verifyHash(h, want); err != nil {
		return sess.up.Size(), err
	}
	if verified != nil {
		verified()
	}
	size := sess.up.Size()
	err = sess.up.Commit(ctx, blobKey(want), driver.PutOptions{IfNotExists: true})
	switch {
	case errors.Is(err, driver.ErrExist): // stored already: the session is not needed
		if err := sess.up.Cancel(ctx); err != nil {
			return size, err
		}
	case err != nil:
		return size, err
	default:
		s.stats.blobs.Add(1)
		s.stats.blobBytes.Add(size)
	}
	s.ended(ctx, id, sess)
	return size, s.LinkBlob(ctx, name, want)
}

func verifyHash(h hash.Hash, want digest.Digest) error {
	if got := digest.NewDigest(want.Algorithm(), h); got != want {
		return fmt.Errorf("computed %s, client said %s: %w", got, want, ErrDigestInvalid)
	}
	return nil
}

// CancelUpload ends a session and deletes its data.
func (s *Store) CancelUpload(ctx context.Context, name, id string) error {
	sess, err := s.session(ctx, name, id)
	if err != nil {
		return err
	}
	defer s.release(sess)
	if err := sess.up.Cancel(ctx); err != nil && !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	s.ended(ctx, id, sess)
	return nil
}

// ended marks a session gone here and removes what an older registry left
// beside it (its info object).
func (s *Store) ended(ctx context.Context, id string, sess *session) {
	sess.st.gone = true
	s.forget(id)
	if sess.info.Legacy {
		s.d.Delete(ctx, uploadInfoKey(id))
	}
}
