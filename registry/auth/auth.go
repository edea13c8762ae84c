// Package auth decides who may pull and push: users from an htpasswd file
// (bcrypt), access rules by repository prefix, anonymous pull on or off,
// and a limit on failed logins per client.
package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/layerlab/layerlab/registry/internal/lines"
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
	err := lines.Each(c.HtpasswdFile, func(n int, line string) error {
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" || !strings.HasPrefix(hash, "$2") {
			return fmt.Errorf("htpasswd line %d: want user:bcrypt-hash (htpasswd -B, or registry htpasswd)", n)
		}
		b.users[user] = []byte(hash)
		return nil
	})
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) { // the file could not be read
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	if err != nil {
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

// Permits is permits for a caller outside the package: the explorer asks
// whether a user may delete in a repository before offering the button.
func (b *Basic) Permits(user string, need Scope) bool { return b.permits(user, need) }

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

// ClientIP is the address a request came from, without its port.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
