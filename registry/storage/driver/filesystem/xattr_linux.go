//go:build linux

package filesystem

import (
	"errors"

	"golang.org/x/sys/unix"
)

// stateAttr is the extended attribute of a session's data file that holds
// its state (see upload.go).
const stateAttr = "user.layerlab.state"

// setState stores b as the state attribute of the file at path; an error
// wrapping errNoAttr says the filesystem keeps no such attribute (or not
// one this large).
func setState(path string, b []byte) error {
	err := unix.Setxattr(path, stateAttr, b, 0)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.E2BIG), errors.Is(err, unix.ENOSPC), errors.Is(err, unix.ERANGE), errors.Is(err, unix.EPERM):
		return errors.Join(errNoAttr, err)
	}
	return err
}

// getState reads the state attribute of the file at path (nil, nil: none).
func getState(path string) ([]byte, error) {
	buf := make([]byte, 4096)
	for {
		n, err := unix.Getxattr(path, stateAttr, buf)
		switch {
		case err == nil:
			return buf[:n], nil
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
			return nil, nil
		case errors.Is(err, unix.ERANGE) && len(buf) < maxStateFile:
			buf = make([]byte, 16*len(buf))
			continue
		}
		return nil, err
	}
}

// dropState removes the state attribute of the file at path, if any.
func dropState(path string) error {
	err := unix.Removexattr(path, stateAttr)
	if err == nil || errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
		return nil
	}
	return err
}
