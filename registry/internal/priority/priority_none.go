//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package priority

import "fmt"

// Lower checks nice and leaves the priority alone: this system has no
// niceness to set.
func Lower(nice int) error {
	if nice < 0 || nice > MaxNice {
		return fmt.Errorf("niceness %d: want 0 to %d", nice, MaxNice)
	}
	return nil
}
