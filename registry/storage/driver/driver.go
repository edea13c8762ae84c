package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Driver is where the store's bytes live. Keys are slash-separated paths
// relative to the driver's root (a directory, or a bucket and prefix), such
// as "blobs/sha256/ab/ab12…"; every method refuses, with ErrInvalidKey, a key
// that could reach outside it (see ValidKey).
//
// A key is never also the directory of other keys ("a" beside "a/b"): a
// filesystem cannot hold both, and the store never needs both.
//
// A Driver is safe for concurrent use, and several Drivers — in one process
// or in several — may share one backing store: no state that another
// instance needs lives only in memory.
type Driver interface {
	// Stat describes the object at key, or fails with ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// GetContent reads a small object whole: a link, a tag, a manifest. An
	// object larger than limit fails with ErrTooLarge.
	GetContent(ctx context.Context, key string, limit int64) ([]byte, error)

	// Open opens the object at key for streaming reads with Range support:
	// Seek, then Read from there. Nothing is read before the first Read.
	Open(ctx context.Context, key string) (Reader, error)

	// Put streams r into the object at key and returns the bytes read. The
	// object becomes visible only whole, after r reached EOF and
	// opts.Verify (if set) accepted it; on any error nothing is visible and
	// an object already at key is untouched. Readers see the old object or
	// the new one, never a mix (atomic replace). With opts.IfNotExists an
	// existing object is never replaced: Put fails with ErrExist (possibly
	// before reading r), and of concurrent Puts of one key exactly one
	// succeeds.
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (int64, error)

	// Delete removes the object at key, or fails with ErrNotFound.
	Delete(ctx context.Context, key string) error

	// List calls fn, in lexical order of keys, for what lies under prefix
	// ("" or ending in "/") after opts.StartAfter: every object below it
	// (opts.Recursive), or its direct children, objects and directories.
	// An error from fn stops the listing and is returned; ErrStop stops it
	// and List returns nil. A prefix holding nothing lists nothing, but a
	// one-level listing may still show a directory emptied moments ago
	// (SeaweedFS removes empty folders in the background): callers look
	// inside before relying on a directory.
	List(ctx context.Context, prefix string, opts ListOptions, fn func(Entry) error) error

	// StartUpload begins an upload session at key (a directory-like key the
	// session owns; see Upload). It fails with ErrExist if one is there.
	StartUpload(ctx context.Context, key string, state []byte) (Upload, error)

	// ResumeUpload continues the session at key from its stored state, in
	// this process or another; ErrNotFound when there is none.
	ResumeUpload(ctx context.Context, key string) (Upload, error)
}

// Upload is an append-only session whose bytes and caller state (the
// offset and a marshalled running hash, say) live in the backing store, so
// that successive calls may be served by different processes. It owns its
// key and the keys under key + "/" whose names start with "data" or
// "state" (other names there are left to the caller, where the driver keeps
// a session as a directory); a one-level listing of the parent shows the
// session as an entry named key: a directory, or on the filesystem, where
// a session is one file, an object.
//
// An Upload value is not safe for concurrent use; two processes appending
// to one session at once leave it in the state of one of them (the last
// Append to store its state), never with state and bytes that disagree.
type Upload interface {
	Key() string
	// Size is the number of bytes the session holds.
	Size() int64
	// State is the caller's state stored with the last Append (or Start).
	State() []byte
	// Append streams r to the end of the session. When r is at EOF, state is
	// called with the number of bytes appended and what it returns is stored
	// with the new size, atomically: a later Resume sees both or neither.
	// An error (from r, state or the store) leaves the session as it was.
	Append(ctx context.Context, r io.Reader, state func(n int64) ([]byte, error)) (int64, error)
	// Reader streams the bytes the session holds, from the start.
	Reader(ctx context.Context) (io.ReadCloser, error)
	// Commit makes the session's bytes the object at dst (visible only
	// whole, as Put does, without the caller sending them again) and ends
	// the session. With opts.IfNotExists and an object at dst, it fails with
	// ErrExist and the session stays for the caller to Cancel.
	Commit(ctx context.Context, dst string, opts PutOptions) error
	// Cancel ends the session and removes what it stored.
	Cancel(ctx context.Context) error
}

// Reader reads one object; Seek moves where the next Read starts.
type Reader interface {
	io.ReadSeekCloser
	Info() Info
}

// Info describes an object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Entry is one item of a listing: an object, or with Dir a directory (its
// Key then ends in "/") in a non-recursive listing.
type Entry struct {
	Info
	Dir bool
}

// PutOptions steer Put and Commit.
type PutOptions struct {
	// IfNotExists keeps an existing object: the write fails with ErrExist.
	IfNotExists bool
	// Verify is called with the byte count once the reader is at EOF and
	// before the object becomes visible; its error aborts the write and is
	// returned as is. The caller hashes the bytes while they stream.
	Verify func(n int64) error
}

// ListOptions steer List.
type ListOptions struct {
	// StartAfter lists only keys lexically greater than this full key
	// (a catalog's or tag list's "last" parameter).
	StartAfter string
	// Recursive lists every object below the prefix instead of one level.
	Recursive bool
	// EmptyDirs, in a one-level listing, lists directories without first
	// making sure each holds an object: the filesystem may keep an empty
	// one for a moment (a race with its removal), and a caller that copes
	// with one saves the look inside. Drivers whose directories exist only
	// through their objects (S3, memory) list the same either way.
	EmptyDirs bool
	// KeysOnly says the caller reads only the keys of objects listed (and
	// whether each is a directory): their sizes and dates may be left zero.
	// The filesystem then skips a stat of every object, a read of its inode
	// that may go to the disk.
	KeysOnly bool
}

var (
	ErrNotFound   = errors.New("not found")
	ErrExist      = errors.New("already exists")
	ErrInvalidKey = errors.New("invalid key")
	ErrTooLarge   = errors.New("object too large")
	// ErrStop, returned by a List callback, ends the listing early.
	ErrStop = errors.New("stop listing")
	// ErrUnavailable wraps a failure to reach the backing store (network,
	// timeouts, a 5xx from the service): the request may work later.
	ErrUnavailable = errors.New("storage unavailable")
)

// ValidKey reports whether key names an object inside the driver: not
// empty, relative, slash-separated, with no empty, "." or ".." component,
// no backslash and no control character (NUL included).
func ValidKey(key string) bool {
	if key == "" || len(key) > 1024 {
		return false
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// ValidPrefix reports whether prefix can be listed: "" (everything) or a
// valid key followed by "/".
func ValidPrefix(prefix string) bool {
	return prefix == "" || strings.HasSuffix(prefix, "/") && ValidKey(strings.TrimSuffix(prefix, "/"))
}

// CheckKey returns an ErrInvalidKey error naming key when it is not valid.
func CheckKey(key string) error {
	if !ValidKey(key) {
		return &KeyError{Key: key}
	}
	return nil
}

// KeyError is a refused key; errors.Is(err, ErrInvalidKey) holds.
type KeyError struct{ Key string }

func (e *KeyError) Error() string { return "key " + quote(e.Key) + ": invalid key" }
func (e *KeyError) Unwrap() error { return ErrInvalidKey }

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}

// NotFound and Exists wrap ErrNotFound and ErrExist with the key.
func NotFound(key string) error { return fmt.Errorf("%s: %w", key, ErrNotFound) }
func Exists(key string) error   { return fmt.Errorf("%s: %w", key, ErrExist) }

// ContextReader fails reads with ctx's error once ctx is done, so a long
// copy stops when its request is cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Toucher is a driver that can date an object now without rewriting it
// (filesystem, memory). The store marks with it what a garbage collection
// running now must keep; on a driver without it (S3: an object's date
// cannot change in place) the store rewrites the small link objects that
// date a blob instead.
type Toucher interface {
	// Touch sets the object's modification time to now, or fails with
	// ErrNotFound.
	Touch(ctx context.Context, key string) error
}

// A BatchDeleter deletes many objects at once, paying for durability once
// per directory touched (the filesystem: one flush of each, where Delete
// flushes once per object) rather than once per object. Garbage collection
// deletes through it: at 100,000 repositories, a collection that removes
// 10,000 emptied repositories removes half a million links.
type BatchDeleter interface {
	// DeleteMany removes every key given (missing ones, and keys naming a
	// directory, are skipped) and returns once every removal is as durable
	// as Delete's.
	DeleteMany(ctx context.Context, keys []string) error
}

// A Stamper stamps directories (the filesystem: a directory's
// modification time). A prefix's stamp changes whenever an entry directly
// under it is created, renamed or removed. Settled says that the stamp
// would also change for any such change from now on, even within the
// clock's granularity: a caller may keep what it reads under the prefix
// after the call, keyed by a settled stamp, for as long as a later call
// returns the same stamp. A missing directory fails with ErrNotFound.
type Stamper interface {
	Stamp(ctx context.Context, prefix string) (stamp int64, settled bool, err error)
}

// A driver may hand the bytes of a long write to its backing store while
// they arrive (the filesystem driver starts their writeback), so that the
// flush which commits them finds little left to do: what a client waiting
// for that commit wants. WithoutWriteBehind marks a context whose writes
// nobody waits on (a mirror's fill, whose client is served as the bytes
// arrive): they go at the speed of memory, and the flush at commit does
// the rest.
func WithoutWriteBehind(ctx context.Context) context.Context {
	return context.WithValue(ctx, writeBehindKey{}, false)
}

// WriteBehind reports whether writes under ctx should be written behind.
func WriteBehind(ctx context.Context) bool {
	v, ok := ctx.Value(writeBehindKey{}).(bool)
	return !ok || v
}

type writeBehindKey struct{}
