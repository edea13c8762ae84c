// Package priority lets a background command (gc, du) step aside for the
// registry that serves beside it: it lowers the command's own CPU priority
// and, on Linux, its I/O priority, so that when both want a core or the
// disk, the requests being served get it first.
package priority

import "fmt"

// Level is how far a command steps aside.
type Level string

const (
	// Idle runs the command only on a core no other task wants: on Linux
	// the SCHED_IDLE policy (a task that wakes up takes the core at
	// once), elsewhere niceness 19. On a machine busy all the time, the
	// command takes correspondingly longer.
	Idle Level = "idle"
	// Low is niceness 10: the command gets about a tenth of a core that
	// others want too.
	Low Level = "low"
	// Normal leaves the priority as the command was started with.
	Normal Level = "normal"
)

// Levels are the valid levels, in order.
var Levels = []Level{Idle, Low, Normal}

// niceness is the level's niceness (0: leave it).
func (l Level) niceness() (int, error) {
	switch l {
	case Idle:
		return 19, nil
	case Low:
		return 10, nil
	case Normal:
		return 0, nil
	}
	return 0, fmt.Errorf("priority %q: want idle, low or normal", string(l))
}

// runAsProcess is Run where a priority is the process's, not a thread's:
// it checks the level and calls fn as it is.
func runAsProcess(l Level, fn func()) error {
	if _, err := l.niceness(); err != nil {
		return err
	}
	fn()
	return nil
}
