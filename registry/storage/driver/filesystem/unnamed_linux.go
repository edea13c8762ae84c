//go:build linux

package filesystem

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// errUnnamedUnsupported: the filesystem has no O_TMPFILE.
var errUnnamedUnsupported = errors.New("unnamed temp files unsupported")

// unnamedUsable reports whether unnamed temp files can be named later:
// that goes through /proc/self/fd (a link by descriptor needs privileges).
func unnamedUsable() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
}

// openUnnamed opens an unnamed file in dir's filesystem (O_TMPFILE).
func openUnnamed(dir string) (int, error) {
	for {
		fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR:
			continue
		case unix.EOPNOTSUPP, unix.EISDIR, unix.EINVAL:
			return -1, errUnnamedUnsupported
		}
		return -1, err
	}
}

// linkUnnamed gives the unnamed file fd the name dst; it fails with EEXIST
// when dst exists (a link never replaces).
func linkUnnamed(fd int, dst string) error {
	for {
		err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}

// renameNoReplace renames src to dst unless dst exists (EEXIST); where
// the filesystem cannot, it returns errUnnamedUnsupported and the caller
// links instead.
func renameNoReplace(src, dst string) error {
	for {
		err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
		switch err {
		case unix.EINTR:
			continue
		case unix.EINVAL, unix.ENOSYS, unix.EOPNOTSUPP:
			return errUnnamedUnsupported
		}
		return err
	}
}
