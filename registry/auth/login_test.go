package auth

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fastLine is an htpasswd line hashed at bcrypt's lowest cost: what the
// tests check is the same, in a fraction of the time (race detector on).
func fastLine(t *testing.T, user, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + string(h)
}

func loginUsers(t *testing.T, users ...string) *Basic {
	t.Helper()
	var lines []string
	for _, u := range users {
		lines = append(lines, fastLine(t, u, u+"-pw"))
	}
	file := filepath.Join(t.TempDir(), "htpasswd")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	b, err := New(Config{HtpasswdFile: file})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tryLogin(b *Basic, addr, user, pass string) error {
	req := httptest.NewRequest("GET", "/v2/", nil)
	req.RemoteAddr = addr
	req.SetBasicAuth(user, pass)
	_, err := b.Authorize(httptest.NewRecorder(), req, Scope{})
	return err
}

// TestFailedLoginLimitHoldsInParallel: 200 wrong passwords sent at once
// get at most the limit's worth of checks; the rest 429. A correct
// password of a user who logged in a moment ago still passes from that
// address, and other users behind the same address are not locked out.
func TestFailedLoginLimitHoldsInParallel(t *testing.T) {
	b := loginUsers(t, "alice", "bob")
	// Every guess waits for a bcrypt slot, however loaded the machine: a
	// login refused as busy gives its attempt back, which is not what is
	// counted here.
	savedWait := bcryptWait
	bcryptWait = time.Minute
	t.Cleanup(func() { bcryptWait = savedWait })
	const nat = "203.0.113.7:4000"
	if err := tryLogin(b, nat, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	var checked, tooMany atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := tryLogin(b, nat, "alice", "guess"); {
			case errors.Is(err, ErrTooMany):
				tooMany.Add(1)
			case errors.Is(err, ErrUnauthorized):
				checked.Add(1)
			default:
				t.Errorf("a wrong password: %v", err)
			}
		}()
	}
	wg.Wait()
	if checked.Load() > maxFailures || tooMany.Load() < 200-maxFailures {
		t.Fatalf("200 parallel wrong passwords: %d checked, %d refused with 429; want at most %d checked", checked.Load(), tooMany.Load(), maxFailures)
	}
	if err := tryLogin(b, nat, "alice", "alice-pw"); err != nil {
		t.Errorf("alice's correct password after the attack: %v", err)
	}
	if err := tryLogin(b, nat, "bob", "bob-pw"); err != nil {
		t.Errorf("bob, behind the same address: %v", err)
	}
	if err := tryLogin(b, nat, "alice", "guess"); !errors.Is(err, ErrTooMany) {
		t.Errorf("one more guess: %v, want 429", err)
	}
	if err := tryLogin(b, "198.51.100.1:1", "alice", "guess"); !errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrTooMany) {
		t.Errorf("a guess from another address: %v, want 401", err)
	}
}

// TestBcryptChecksAreBounded: however many logins arrive at once, only a
// few bcrypt checks run at a time; a login that cannot get one in time is
// told to retry (429), and gives its attempt back.
func TestBcryptChecksAreBounded(t *testing.T) {
	b := loginUsers(t, "alice")
	var running, peak atomic.Int64
	slow := func(hash, pass []byte) error {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		return errors.New("mismatch")
	}
	saved, savedWait := compareHash, bcryptWait
	compareHash, bcryptWait = slow, 100*time.Millisecond
	t.Cleanup(func() { compareHash, bcryptWait = saved, savedWait })

	var busy atomic.Int64
	var busyAddrs sync.Map
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Distinct addresses: the failure limit is not what stops them.
			if err := tryLogin(b, fmt.Sprintf("10.0.0.%d:1", i), "alice", "x"); errors.Is(err, ErrTooMany) {
				busy.Add(1)
				busyAddrs.Store(fmt.Sprintf("10.0.0.%d", i), true)
			}
		}()
	}
	wg.Wait()
	busyAddrs.Range(func(addr, _ any) bool {
		if w := b.failures.m[attemptKey("alice", addr.(string))]; w == nil || w.count != 0 {
			t.Errorf("a login from %s told to retry kept its attempt: %+v", addr, w)
			return false
		}
		return true
	})
	if p := peak.Load(); p > int64(cap(bcryptSlots)) {
		t.Errorf("%d bcrypt checks ran at once, the bound is %d", p, cap(bcryptSlots))
	}
	if busy.Load() == 0 {
		t.Error("100 logins at once, each 20 ms of bcrypt, 100 ms of patience: none was told to retry")
	}
}
