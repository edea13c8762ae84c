package priority

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
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

// helper lowers its priority to each niceness of a comma-separated list,
// in turn, then starts threads, and prints every thread's niceness and
// I/O class and level, a line each.
func helper(list string) int {
	for _, f := range strings.Split(list, ",") {
		n, _ := strconv.Atoi(f)
		if err := Lower(n); err != nil {
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
		class, level, ioerr := IOPriority(tid)
		if err != nil || ioerr != nil {
			fmt.Println("error:", err, ioerr)
			return 1
		}
		fmt.Printf("%d %d %d %d\n", tid, nice, class, level)
	}
	stop.Done()
	return 0
}

type thread struct{ tid, nice, class, level int }

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
		if _, err := fmt.Sscan(line, &th.tid, &th.nice, &th.class, &th.level); err != nil {
			t.Fatalf("helper line %q: %v", line, err)
		}
		ts = append(ts, th)
	}
	if len(ts) < 9 { // the 8 started after Lower, and the main thread
		t.Fatalf("helper listed %d threads, want 9 or more", len(ts))
	}
	return ts
}

func TestLowerSetsEveryThread(t *testing.T) {
	t.Parallel()
	own, err := Nice(0)
	if err != nil {
		t.Fatal(err)
	}
	if own >= 10 {
		t.Skipf("this test runs at niceness %d already: it cannot tell whether 10 was set", own)
	}
	for _, th := range runHelper(t, "10") {
		if th.nice != 10 || th.class != ioprioClassBE || th.level != 7 {
			t.Errorf("thread %d: niceness %d, I/O class %d level %d; want 10, best effort (%d) level 7",
				th.tid, th.nice, th.class, th.level, ioprioClassBE)
		}
	}
}

// A process already nicer than asked stays as nice; 0 changes nothing.
func TestLowerNeverRaises(t *testing.T) {
	t.Parallel()
	for _, th := range runHelper(t, "15,10,0") {
		if th.nice != 15 || th.level != 7 {
			t.Errorf("thread %d: niceness %d, I/O level %d after 15 then 10 then 0; want 15 and 7", th.tid, th.nice, th.level)
		}
	}
	own, err := Nice(0)
	class, level, ioerr := IOPriority(0)
	if err != nil || ioerr != nil {
		t.Fatal(err, ioerr)
	}
	for _, th := range runHelper(t, "0") {
		if th.nice != own || th.class != class || th.level != level {
			t.Errorf("thread %d: niceness %d, I/O class %d level %d after 0; want those it started with: %d, %d, %d",
				th.tid, th.nice, th.class, th.level, own, class, level)
		}
	}
}

func TestLowerRefusesOutOfRange(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 20} {
		if err := Lower(n); err == nil {
			t.Errorf("Lower(%d): no error", n)
		}
	}
}
