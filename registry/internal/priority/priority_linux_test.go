package priority

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests lower the priority of a child process (this test binary run
// again), never their own: a process cannot raise it back.
const helperEnv = "PRIORITY_TEST_NICE"

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(helper(v))
	}
	os.Exit(m.Run())
}

// helper lowers its priority to each level of a comma-separated list, in
// turn, then starts threads, and prints every thread's niceness,
// scheduling policy and I/O class and level, a line each.
func helper(list string) int {
	for _, f := range strings.Split(list, ",") {
		lower := Lower
		if l, ok := strings.CutPrefix(f, "nothing:"); ok {
			lower, f = LowerHoldingNothing, l
		}
		if err := lower(Level(f)); err != nil {
			fmt.Println("error:", err)
			return 1
		}
	}
	// Threads started after: each goroutine keeps one to itself.
	var started, stop sync.WaitGroup
	stop.Add(1)
	for range 8 {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			stop.Wait()
		}()
	}
	started.Wait()
	tids, err := threads()
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	for _, tid := range tids {
		nice, err := Nice(tid)
		policy, perr := Policy(tid)
		class, level, ioerr := IOPriority(tid)
		if err != nil || perr != nil || ioerr != nil {
			fmt.Println("error:", err, perr, ioerr)
			return 1
		}
		fmt.Printf("%d %d %d %d %d\n", tid, nice, policy, class, level)
	}
	stop.Done()
	return 0
}

type thread struct{ tid, nice, policy, class, level int }

func runHelper(t *testing.T, list string) []thread {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+list)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper %s: %v\n%s", list, err, out)
	}
	var ts []thread
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var th thread
		if _, err := fmt.Sscan(line, &th.tid, &th.nice, &th.policy, &th.class, &th.level); err != nil {
			t.Fatalf("helper line %q: %v", line, err)
		}
		ts = append(ts, th)
	}
	if len(ts) < 9 { // the 8 started after Lower, and the main thread
		t.Fatalf("helper listed %d threads, want 9 or more", len(ts))
	}
	return ts
}

// own is this process's niceness, scheduling policy and I/O priority.
func own(t *testing.T) thread {
	t.Helper()
	nice, err := Nice(0)
	policy, perr := Policy(0)
	class, level, ioerr := IOPriority(0)
	if err != nil || perr != nil || ioerr != nil {
		t.Fatal(err, perr, ioerr)
	}
	if nice >= 10 || policy != 0 {
		t.Skipf("the tests run at niceness %d, policy %d already: they cannot tell whether a level was set", nice, policy)
	}
	return thread{nice: nice, policy: policy, class: class, level: level}
}

func TestLowerSetsEveryThread(t *testing.T) {
	t.Parallel()
	was := own(t)
	for _, c := range []struct {
		levels string
		want   thread
	}{
		{"idle", thread{nice: 19, policy: unix.SCHED_IDLE, class: ioprioClassBE, level: 7}},
		{"low", thread{nice: 10, policy: 0, class: ioprioClassBE, level: 7}},
		{"normal", was},
		// Holding nothing (du, gc --dry-run): at idle, the idle I/O class.
		{"nothing:idle", thread{nice: 19, policy: unix.SCHED_IDLE, class: ioprioClassIdle, level: 0}},
		{"nothing:low", thread{nice: 10, policy: 0, class: ioprioClassBE, level: 7}},
		{"nothing:normal", was},
		// Already lower than asked: stays so.
		{"idle,low,normal", thread{nice: 19, policy: unix.SCHED_IDLE, class: ioprioClassBE, level: 7}},
	} {
		for _, th := range runHelper(t, c.levels) {
			if got := (thread{nice: th.nice, policy: th.policy, class: th.class, level: th.level}); got != c.want {
				t.Errorf("%s: thread %d has niceness %d, policy %d, I/O class %d level %d; want %+v",
					c.levels, th.tid, th.nice, th.policy, th.class, th.level, c.want)
			}
		}
	}
}

func TestLowerRefusesAnUnknownLevel(t *testing.T) {
	t.Parallel()
	if err := Lower("lowest"); err == nil || !strings.Contains(err.Error(), "idle, low or normal") {
		t.Errorf("Lower(lowest): %v, want the levels named", err)
	}
}

// Run sets its own thread alone: fn sees the level, the caller keeps its
// priority, and an error in the level leaves fn uncalled.
func TestRunSetsItsThreadAlone(t *testing.T) {
	was := own(t)
	lowered := func(tid int) bool {
		nice, _ := Nice(tid)
		policy, _ := Policy(tid)
		return nice != was.nice || policy != was.policy
	}
	parked := map[int]bool{} // by an earlier run of this test in this process (-count)
	for _, tid := range must(threads()) {
		parked[tid] = lowered(tid)
	}
	var inside thread
	var err error
	if rerr := Run(Idle, func() {
		inside.tid = syscall.Gettid()
		inside.nice, err = Nice(0)
		inside.policy, _ = Policy(0)
		inside.class, inside.level, _ = IOPriority(0)
	}); rerr != nil || err != nil {
		t.Fatal(rerr, err)
	}
	if want := (thread{tid: inside.tid, nice: 19, policy: unix.SCHED_IDLE, class: ioprioClassBE, level: 7}); inside != want {
		t.Errorf("inside Run(Idle): %+v, want %+v", inside, want)
	}
	// Every other thread kept its priority. Run's own ends once Run has
	// returned (at idle priority: on a busy machine that takes a while),
	// or, when it was the process's main thread, which cannot end, the
	// runtime parks it for good: either way no goroutine runs on it again.
	main := inside.tid == os.Getpid()
	gone := false
	for deadline := time.Now().Add(5 * time.Second); !gone && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		gone = true
		for _, tid := range must(threads()) {
			if tid == inside.tid && !main {
				gone = false
			} else if tid != inside.tid && !parked[tid] && lowered(tid) {
				t.Fatalf("after Run(Idle): thread %d was lowered too", tid)
			}
		}
	}
	if !gone {
		t.Errorf("Run's thread %d did not end", inside.tid)
	}
	var wg sync.WaitGroup
	for range 32 { // goroutines on threads of their own, from the pool first
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if p, _ := Policy(0); p != was.policy {
				t.Errorf("a goroutine after Run(Idle) runs on thread %d at policy %d", syscall.Gettid(), p)
			}
		}()
	}
	wg.Wait()
	called := false
	if err := Run("lowest", func() { called = true }); err == nil || called {
		t.Errorf("Run(lowest): %v, fn called %v; want an error and no call", err, called)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
