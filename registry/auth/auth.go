// Package auth decides who may pull and push: users from an htpasswd file
// (bcrypt), access rules by repository prefix, anonymous pull on or off,
// and a limit on failed logins per client.
package auth

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Errors the api package maps to UNAUTHORIZED, DENIED and TOOMANYREQUESTS.
var (
	ErrUnauthorized = errors.New("authentication required")
	ErrDenied       = errors.New("access denied")
	ErrTooMany      = errors.New("too many login attempts; wait and retry")
)

// Config is what the registry's configuration says about access.
type Config struct {
	HtpasswdFile  string // user:bcrypt-hash lines, as `htpasswd -B` or `registry htpasswd` write
	Realm         string
	AnonymousPull bool
	Rules         string // "alice=push:lab/*,pull:*;bob=pull:*"; a user without a rule may pull and push everything
}

// access is what one user may do: repository patterns for pull and push.
type access struct{ pull, push []string }

// Basic authenticates with HTTP Basic credentials checked against bcrypt
// hashes and authorizes by the rules.
type Basic struct {
	realm         string
	anonymousPull bool
	users         map[string][]byte
	rules         map[string]access
	failures      failures
	verified      verified
}

// dummyHash is compared against when the user is unknown, so a wrong user
// name takes as long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)

// New reads the htpasswd file and the rules.
func New(c Config) (*Basic, error) {
	b := &Basic{realm: c.Realm, anonymousPull: c.AnonymousPull, users: map[string][]byte{}, rules: map[string]access{}}
	if b.realm == "" {
		b.realm = "layerlab"
	}
	f, err := os.Open(c.HtpasswdFile)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" || !strings.HasPrefix(hash, "$2") {
			return nil, fmt.Errorf("htpasswd line %d: want user:bcrypt-hash (htpasswd -B, or registry htpasswd)", n)
		}
		b.users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(b.users) == 0 {
		return nil, errors.New("htpasswd: no users")
	}
	for _, r := range strings.Split(c.Rules, ";") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		user, grants, ok := strings.Cut(r, "=")
		if !ok {
			return nil, fmt.Errorf("rule %q: want user=pull:pattern,push:pattern", r)
		}
		var a access
		for _, g := range strings.Split(grants, ",") {
			action, pattern, ok := strings.Cut(strings.TrimSpace(g), ":")
			switch {
			case ok && action == "pull":
				a.pull = append(a.pull, pattern)
			case ok && action == "push":
				a.push = append(a.push, pattern)
				a.pull = append(a.pull, pattern) // who may push may pull
			default:
				return nil, fmt.Errorf("rule %q: grant %q is not pull:PATTERN or push:PATTERN", r, g)
			}
		}
		b.rules[user] = a
	}
	var unknown []string
	for user := range b.rules {
		if _, ok := b.users[user]; !ok {
			unknown = append(unknown, user)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("access rules name users the htpasswd file does not have: %s (a misspelt name would leave the real user without a rule, free to push anywhere)",
			strings.Join(unknown, ", "))
	}
	return b, nil
}

// Describe says what the rules leave to whom, for the start-up line:
// users without a rule may pull and push everything.
func (b *Basic) Describe() string {
	var ruled, free []string
	for user := range b.users {
		if _, ok := b.rules[user]; ok {
			ruled = append(ruled, user)
		} else {
			free = append(free, user)
		}
	}
	slices.Sort(ruled)
	slices.Sort(free)
	var parts []string
	if len(ruled) > 0 {
		parts = append(parts, "rules for "+strings.Join(ruled, ", "))
	}
	if len(free) > 0 {
		parts = append(parts, "no rule, may pull and push everything: "+strings.Join(free, ", "))
	}
	if b.anonymousPull {
		parts = append(parts, "anonymous clients may pull")
	}
	return strings.Join(parts, "; ")
}

// Authorize checks the request against the scope it needs. Any known user
// may call /v2/ and list the catalog; the rules decide the rest (delete
// counts as push). It returns the user name ("" for anonymous), and sets
// the challenge header on 401.
func (b *Basic) Authorize(w http.ResponseWriter, r *http.Request, need Scope) (string, error) {
	user, pass, given := r.BasicAuth()
	if !given {
		if b.permits("", need) {
			return "", nil
		}
		b.challenge(w)
		return "", ErrUnauthorized
	}
	if err := b.login(r, user, pass); err != nil {
		if !errors.Is(err, ErrTooMany) {
			b.challenge(w)
		}
		return user, err
	}
	if b.permits(user, need) {
		return user, nil
	}
	what := "pull from"
	if need.writes() {
		what = "push to"
	}
	return user, fmt.Errorf("%s may not %s %s: %w", user, what, need.Name, ErrDenied)
}

// permits reports whether user ("" for anonymous) may have the scope: on a
// repository, what the rules allow (delete counts as push; anonymous
// users only pull, and only with anonymous pull on); /v2/ and the catalog,
// any known user. The token issuer grants by the same rules.
func (b *Basic) permits(user string, need Scope) bool {
	if need.Type != "repository" {
		return user != ""
	}
	if user == "" {
		return b.anonymousPull && !need.writes()
	}
	return b.allowed(user, need.Name, need.writes())
}

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
	client := clientIP(r)
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

func (b *Basic) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", b.realm))
}

func (b *Basic) allowed(user, repo string, push bool) bool {
	a, ok := b.rules[user]
	if !ok {
		return true
	}
	patterns := a.pull
	if push {
		patterns = a.push
	}
	for _, p := range patterns {
		if Match(p, repo) {
			return true
		}
	}
	return false
}

// Pullable says which repositories user may pull: nil when every one
// (no rule, or a rule that lets them pull "*"), else a predicate. The
// catalog and the storage report list only those.
func (b *Basic) Pullable(user string) func(repo string) bool {
	a, ok := b.rules[user]
	if !ok || slices.Contains(a.pull, "*") {
		return nil
	}
	return func(repo string) bool { return b.allowed(user, repo, false) }
}

// Match reports whether a repository matches a pattern: "*" matches all,
// "lab/*" every repository under lab/, anything else exactly.
func Match(pattern, repo string) bool {
	if pattern == "*" || pattern == repo {
		return true
	}
	prefix, ok := strings.CutSuffix(pattern, "*")
	return ok && strings.HasPrefix(repo, prefix)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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

// HashPassword returns an htpasswd line for user (bcrypt).
func HashPassword(user, password string) (string, error) {
	if user == "" || strings.Contains(user, ":") {
		return "", errors.New("a user name is not empty and has no colon")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return user + ":" + string(h), nil
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
