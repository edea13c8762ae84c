package auth

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHtpasswdLineAndRules(t *testing.T) {
	line, err := HashPassword("alice", "pw")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(file, []byte("# users\n"+line+"\n"), 0o600)
	b, err := New(Config{HtpasswdFile: file, Rules: "alice=push:lab/*"})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v2/", nil)
	req.SetBasicAuth("alice", "pw")
	for _, c := range []struct {
		repo string
		push bool
		want error
	}{{"lab/app", true, nil}, {"lab/app", false, nil}, {"other", false, ErrDenied}, {"other", true, ErrDenied}, {"", false, nil}} {
		need := Pull(c.repo)
		if c.push {
			need = Push(c.repo)
		}
		if c.repo == "" {
			need = Scope{}
		}
		if _, err := b.Authorize(httptest.NewRecorder(), req, need); !errors.Is(err, c.want) && (err != nil || c.want != nil) {
			t.Errorf("%s push=%v: %v, want %v", c.repo, c.push, err, c.want)
		}
	}
	for _, bad := range []string{"alice", "alice=pull", "alice=write:x"} {
		if _, err := New(Config{HtpasswdFile: file, Rules: bad}); err == nil {
			t.Errorf("rule %q accepted", bad)
		}
	}
	os.WriteFile(file, []byte("bob:{SHA}abc\n"), 0o600)
	if _, err := New(Config{HtpasswdFile: file}); err == nil {
		t.Error("a non-bcrypt htpasswd line was accepted")
	}
	if _, err := HashPassword("a:b", "pw"); err == nil {
		t.Error("a user name with a colon was accepted")
	}
	for p, repo := range map[string]string{"*": "x/y", "lab/*": "lab/a/b", "lab/app": "lab/app"} {
		if !Match(p, repo) {
			t.Errorf("%q should match %q", p, repo)
		}
	}
	if Match("lab/app", "lab/app2") || Match("lab/*", "labx/a") {
		t.Error("a pattern matched too much")
	}
}

// TestRulesNamingUnknownUsersRefused: a rule for a user the htpasswd file
// does not have (a typo) stops the registry from starting, naming the
// user; Describe says who has no rule.
func TestRulesNamingUnknownUsersRefused(t *testing.T) {
	var lines []string
	for _, u := range []string{"alice", "bob", "carol"} {
		lines = append(lines, fastLine(t, u, "pw"))
	}
	file := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	_, err := New(Config{HtpasswdFile: file, Rules: "alice=push:lab/*;bbo=pull:*;zed=pull:x"})
	if err == nil || !strings.Contains(err.Error(), "bbo, zed") {
		t.Fatalf("rules for unknown users: %v", err)
	}
	b, err := New(Config{HtpasswdFile: file, Rules: "alice=push:lab/*;bob=pull:*", AnonymousPull: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Describe(), "rules for alice, bob; no rule, may pull and push everything: carol; anonymous clients may pull"; got != want {
		t.Errorf("Describe: %q, want %q", got, want)
	}
}
