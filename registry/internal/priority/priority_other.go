//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package priority

import (
	"fmt"
	"syscall"
)

// Lower gives the process the niceness nice (0 to MaxNice; 0 leaves it
// alone). Here the niceness is the process's; its I/O priority is left
// as it is.
func Lower(nice int) error {
	if nice < 0 || nice > MaxNice {
		return fmt.Errorf("niceness %d: want 0 to %d", nice, MaxNice)
	}
	if nice == 0 {
		return nil
	}
	err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, nice)
	if err == syscall.EACCES || err == syscall.EPERM { // already nicer: only a privileged process may lower it
		return nil
	}
	if err != nil {
		return fmt.Errorf("setpriority %d: %w", nice, err)
	}
	return nil
}
