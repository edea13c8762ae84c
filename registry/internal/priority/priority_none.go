//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package priority

// Lower checks the level and leaves the priority alone: this system has
// no niceness to set.
func Lower(l Level) error {
	_, err := l.niceness()
	return err
}
