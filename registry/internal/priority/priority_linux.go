package priority

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// I/O priorities as ioprio_set(2) takes them: a class in the top bits and
// a level (0 first, 7 last) within it.
const (
	ioprioWhoProcess = 1 // who is a thread id
	ioprioClassShift = 13
	ioprioClassBE    = 2 // best effort: the class of every process by default
	ioprioClassIdle  = 3 // served when no other class has I/O waiting
	ioprioLowestBE   = ioprioClassBE<<ioprioClassShift | 7
	ioprioIdle       = ioprioClassIdle << ioprioClassShift
)

// Lower sets every thread of this process to the level: its niceness
// (raised only: an unprivileged process may not lower it), at Idle the
// SCHED_IDLE policy, and at Idle and Low the lowest best-effort I/O
// priority. On Linux all three are a thread's, not the process's: each
// thread the process has is set, and threads started later inherit them
// from the thread that starts them.
//
// The idle I/O class is not used here: under steady I/O it may wait
// (with the mq-deadline scheduler, up to its prio_aging_expire, 10 s by
// default, per request; with others, longer), and a collection holds the
// GC lease meanwhile. LowerHoldingNothing uses it.
func Lower(l Level) error { return lower(l, false) }

// LowerHoldingNothing is Lower for a command that holds nothing another
// waits for (du, gc --dry-run: no lease): at Idle its I/O also takes the
// idle class, so that the disk serves the registry's reads first. Waiting
// only delays the command itself. Measured at 100,000 repositories, the
// manifest GET p99 while du and gc --dry-run run went from 1.24–1.29
// times the p99 in the windows where they were stopped to 1.13–1.19
// (three runs).
func LowerHoldingNothing(l Level) error { return lower(l, l == Idle) }

func lower(l Level, idleIO bool) error {
	nice, err := l.niceness()
	if err != nil || nice == 0 {
		return err
	}
	done := map[int]bool{}
	for range 100 { // until a listing shows no thread that was not set
		tids, err := threads()
		if err != nil {
			return err
		}
		fresh := false
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh, done[tid] = true, true
			if err := lowerThread(tid, nice, l == Idle, idleIO); err != nil && !errors.Is(err, syscall.ESRCH) { // ESRCH: it has ended
				return err
			}
		}
		if !fresh {
			return nil
		}
	}
	return fmt.Errorf("lower the priority: the process keeps starting threads")
}

func lowerThread(tid, nice int, idle, idleIO bool) error {
	cur, err := Nice(tid)
	if err != nil {
		return err
	}
	if cur < nice {
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil {
			return fmt.Errorf("setpriority %d: %w", nice, err)
		}
	}
	if idle {
		var param int32 // sched_priority: 0, the only one SCHED_IDLE has
		if _, _, e := syscall.Syscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), unix.SCHED_IDLE, uintptr(unsafe.Pointer(&param))); e != 0 {
			return fmt.Errorf("sched_setscheduler SCHED_IDLE: %w", e)
		}
	}
	io := ioprioLowestBE
	if idleIO {
		io = ioprioIdle
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), uintptr(io)); e != 0 {
		return fmt.Errorf("ioprio_set: %w", e)
	}
	return nil
}

// Policy is a thread's scheduling policy (0: SCHED_OTHER, 5: SCHED_IDLE).
func Policy(tid int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
	if e != 0 {
		return 0, fmt.Errorf("sched_getscheduler: %w", e)
	}
	return int(r), nil
}

// Nice is a thread's niceness.
func Nice(tid int) (int, error) {
	// The system call answers 20 - niceness, so that no answer is negative.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return 0, fmt.Errorf("getpriority: %w", err)
	}
	return 20 - p, nil
}

// IOPriority is a thread's I/O class and level, as ioprio_get(2) gives
// them (class 0: none set, the level follows the niceness).
func IOPriority(tid int) (class, level int, err error) {
	r, _, e := syscall.Syscall(syscall.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
	if e != 0 {
		return 0, 0, fmt.Errorf("ioprio_get: %w", e)
	}
	return int(r) >> ioprioClassShift, int(r) & (1<<ioprioClassShift - 1), nil
}

// threads lists the ids of this process's threads.
func threads() ([]int, error) {
	return Threads(os.Getpid())
}

// Threads lists the ids of a process's threads.
func Threads(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil, err
	}
	var tids []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// Run calls fn on a thread of its own set to the level, and waits for it:
// work done inside a serving process (its scheduled collection) then
// takes only what the level gives, and the requests keep the rest. The
// thread ends with fn, and its priority with it (the process's main
// thread, which the Go runtime never ends, it parks for good instead): no
// other goroutine runs on it. Goroutines fn starts run
// on the process's other threads, at their priority. A thread that cannot
// be set runs fn all the same, and Run returns why.
func Run(l Level, fn func()) error {
	nice, err := l.niceness()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		var err error
		if nice > 0 {
			err = lowerThread(syscall.Gettid(), nice, l == Idle, false)
		}
		fn()
		done <- err
	}()
	return <-done
}
