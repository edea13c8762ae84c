package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// login checks a user's password: constant time whether or not the user
// exists. Credentials bcrypt accepted a moment ago pass at once, whatever
// else happens at the client's address. Otherwise the attempt is counted
// for this user at this address before bcrypt runs (so a burst of
// guesses in parallel meets the limit as a slow series would), bcrypt
// runs on at most a few cores at once (a client that waits too long for
// one gets ErrTooMany), and a correct password gives its attempt back.
// Others behind the same address (one NAT) are not locked out by
// someone guessing another user's password.
func (b *Basic) login(r *http.Request, user, pass string) error {
	hash, known := b.users[user]
	if known && b.verified.has(user, pass) {
		return nil
	}
	if !known {
		hash = dummyHash
	}
	client := ClientIP(r)
	key := attemptKey(user, client)
	if !b.failures.reserve(key) {
		return fmt.Errorf("%d failed logins for %.100q from %s within %s: %w", maxFailures, user, client, failWindow, ErrTooMany)
	}
	if err := acquireBcrypt(r); err != nil {
		b.failures.release(key)
		return fmt.Errorf("every password checker is busy, waited %s: %w", bcryptWait, ErrTooMany)
	}
	err := compareHash(hash, []byte(pass))
	<-bcryptSlots
	if err != nil || !known {
		return fmt.Errorf("wrong user name or password for %.100q from %s: %w", user, client, ErrUnauthorized)
	}
	b.failures.release(key)
	b.verified.add(user, pass)
	return nil
}

// compareHash is bcrypt's check (a variable so tests can watch how many
// run at once).
var compareHash = bcrypt.CompareHashAndPassword

// bcryptSlots bounds the bcrypt checks running at once: each costs tens
// of milliseconds of one core by design, and unauthenticated clients can
// ask for as many as they like.
var bcryptSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// bcryptWait is how long a login waits for a free slot before 429.
var bcryptWait = 2 * time.Second

func acquireBcrypt(r *http.Request) error {
	select {
	case bcryptSlots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(bcryptWait)
	defer t.Stop()
	select {
	case bcryptSlots <- struct{}{}:
		return nil
	case <-t.C:
		return errors.New("timed out")
	case <-r.Context().Done():
		return r.Context().Err()
	}
}

// attemptKey names a user at an address in the failure table, in a fixed
// size whatever the length of the name a client sends.
func attemptKey(user, client string) [32]byte {
	return sha256.Sum256([]byte(client + "\x00" + user))
}

// failures counts login attempts per user and address in one-minute
// windows: an attempt counts from before its bcrypt check, and a correct
// password gives it back. After maxFailures a user at that address waits
// for the window to end. Memory is bounded: at most maxClients entries;
// when the table is full of live windows, new ones are refused (an attack
// is on) until some expire.
type failures struct {
	mu sync.Mutex
	m  map[[32]byte]*window
}

type window struct {
	start time.Time
	count int
}

const (
	maxFailures = 10
	maxClients  = 10000
	failWindow  = time.Minute
)

// reserve counts one attempt; false when the limit is reached.
func (f *failures) reserve(key [32]byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[[32]byte]*window{}
	}
	w := f.m[key]
	if w == nil || time.Since(w.start) > failWindow {
		if w == nil && len(f.m) >= maxClients {
			for k, old := range f.m {
				if time.Since(old.start) > failWindow {
					delete(f.m, k)
				}
			}
			if len(f.m) >= maxClients {
				return false
			}
		}
		w = &window{start: time.Now()}
		f.m[key] = w
	}
	if w.count >= maxFailures {
		return false
	}
	w.count++
	return true
}

// release gives back an attempt that turned out not to be a failure.
func (f *failures) release(key [32]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w := f.m[key]; w != nil && w.count > 0 {
		w.count--
	}
}

// verified remembers, for a minute, the SHA-256 of a password bcrypt just
// accepted: bcrypt costs tens of milliseconds by design, and a push is
// dozens of requests carrying the same credentials.
type verified struct {
	mu sync.Mutex
	m  map[string]verifiedEntry
}

type verifiedEntry struct {
	sum   [32]byte
	until time.Time
}

const verifiedFor = time.Minute

func (v *verified) has(user, pass string) bool {
	sum := sha256.Sum256([]byte(pass))
	v.mu.Lock()
	e, ok := v.m[user]
	v.mu.Unlock()
	return ok && time.Now().Before(e.until) && subtle.ConstantTimeCompare(e.sum[:], sum[:]) == 1
}

func (v *verified) add(user, pass string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) > maxClients {
		v.m = map[string]verifiedEntry{}
	}
	v.m[user] = verifiedEntry{sha256.Sum256([]byte(pass)), time.Now().Add(verifiedFor)}
}
