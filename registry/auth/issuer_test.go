package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestIssuerGrants checks what the issuer puts in tokens: the part of each
// requested scope the rules allow, pull for anonymous clients only when
// anonymous pull is on, the catalog for known users only.
func TestIssuerGrants(t *testing.T) {
	line, _ := HashPassword("alice", "pw")
	file := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(file, []byte(line+"\n"), 0o600)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, anon := range []bool{false, true} {
		b, err := New(Config{HtpasswdFile: file, AnonymousPull: anon, Rules: "alice=push:lab/*,pull:*"})
		if err != nil {
			t.Fatal(err)
		}
		iss, err := newIssuer(b, key, "layerlab", "layerlab", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		anonPull := ""
		if anon {
			anonPull = "repository:lab/app:pull"
		}
		for _, c := range []struct{ user, want, got string }{
			{"alice", "repository:lab/app:pull,push,delete", "repository:lab/app:pull,push,delete"},
			{"alice", "repository:other:pull,push", "repository:other:pull"},
			{"alice", "registry:catalog:*", "registry:catalog:*"},
			{"alice", "repository:lab/app:fly", ""},
			{"", "repository:lab/app:pull,push", anonPull},
			{"", "registry:catalog:*", ""},
		} {
			want, _ := ParseScope(c.want)
			g, ok := iss.grant(c.user, want)
			if got := map[bool]string{true: g.String(), false: ""}[ok]; got != c.got {
				t.Errorf("anonymous pull %v, %q asks %s: granted %q, want %q", anon, c.user, c.want, got, c.got)
			}
		}
	}
	if s := splitScopes("repository:a:pull repository:b:push  registry:catalog:*"); len(s) != 3 || s[2].String() != Catalog.String() {
		t.Errorf("space-separated scopes: %+v", s)
	}
	if s, ok := ParseScope("repository:localhost:5000/lab/app:pull"); !ok || s.Name != "localhost:5000/lab/app" {
		t.Errorf("a name with a colon: %+v", s)
	}
}
