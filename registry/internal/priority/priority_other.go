//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package priority

import (
	"fmt"
	"syscall"
)

// Lower gives the process the level's niceness (Idle: 19, Low: 10,
// Normal: as it is). Here the niceness is the process's; its I/O priority
// is left as it is.
func Lower(l Level) error {
	nice, err := l.niceness()
	if err != nil || nice == 0 {
		return err
	}
	err = syscall.Setpriority(syscall.PRIO_PROCESS, 0, nice)
	if err == syscall.EACCES || err == syscall.EPERM { // already nicer: only a privileged process may lower it
		return nil
	}
	if err != nil {
		return fmt.Errorf("setpriority %d: %w", nice, err)
	}
	return nil
}

// LowerHoldingNothing is Lower: here no I/O priority is set.
func LowerHoldingNothing(l Level) error { return Lower(l) }

// Run calls fn at the process's priority: here a priority is the
// process's, not a thread's.
func Run(l Level, fn func()) error { return runAsProcess(l, fn) }
