package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/layerlab/layerlab/registry/internal/priority"
)

// TestBackgroundCommandsLowerTheirPriority: gc (here waiting for a lease
// another collector holds) runs every thread under SCHED_IDLE at niceness
// 19 by default, at niceness 10 with --priority low, and at the lowest
// best-effort I/O priority in both.
func TestBackgroundCommandsLowerTheirPriority(t *testing.T) {
	t.Parallel()
	own, err := priority.Nice(0)
	policy, perr := priority.Policy(0)
	if err != nil || perr != nil {
		t.Fatal(err, perr)
	}
	if own >= 10 || policy != 0 {
		t.Skipf("the tests run at niceness %d, policy %d already: they cannot tell whether gc lowered its own", own, policy)
	}
	bin := buildBinary(t)
	root := t.TempDir()
	lease := fmt.Sprintf(`{"generation":1,"holder":"other-host/42","acquired":%q,"expires":%q}`,
		time.Now().Format(time.RFC3339), time.Now().Add(time.Hour).Format(time.RFC3339))
	os.MkdirAll(filepath.Join(root, "gc"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "gc", "lease-00000000000000000001"), []byte(lease), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string // without the REGISTRY_PRIORITY=normal of TestMain
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			env = append(env, kv)
		}
	}
	for _, c := range []struct {
		args         []string
		want, policy int
	}{{nil, 19, 5}, {[]string{"--priority", "low"}, 10, 0}} {
		cmd := exec.Command(bin, append([]string{"gc", "--root", root, "--wait", "1m"}, c.args...)...)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// gc lowers its priority before it opens the store, then waits
		// for the lease: check its threads until every one shows all three
		// (a thread is set in steps), for 10 s at most.
		var wrong []string
		for i := 0; i < 200; i++ {
			tids, err := priority.Threads(cmd.Process.Pid)
			if err != nil || len(tids) == 0 {
				t.Fatalf("threads of gc: %v %v", tids, err)
			}
			wrong = wrong[:0]
			for _, tid := range tids {
				nice, err := priority.Nice(tid)
				policy, perr := priority.Policy(tid)
				class, level, ioerr := priority.IOPriority(tid)
				if err != nil || perr != nil || ioerr != nil || nice != c.want || policy != c.policy || class != 2 || level != 7 {
					wrong = append(wrong, fmt.Sprintf("thread %d: niceness %d, policy %d, I/O class %d level %d (%v %v %v)",
						tid, nice, policy, class, level, err, perr, ioerr))
				}
			}
			if len(wrong) == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, w := range wrong {
			t.Errorf("gc %v, %s; want %d, %d, best effort (2) level 7", c.args, w, c.want, c.policy)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
}
