//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package priority

// Lower checks the level and leaves the priority alone: this system has
// no niceness to set.
func Lower(l Level) error {
	_, err := l.niceness()
	return err
}

// LowerHoldingNothing is Lower.
func LowerHoldingNothing(l Level) error { return Lower(l) }

// Run calls fn at the process's priority: here a priority is the
// process's, not a thread's.
func Run(l Level, fn func()) error { return runAsProcess(l, fn) }
