//go:build linux

package filesystem

import "golang.org/x/sys/unix"

// holdsDirs reports whether the directory at path holds a directory, from
// its link count (each subdirectory's ".." links to it): one stat where
// reading it takes three system calls. False says nothing: the directory
// may hold only files, or its filesystem may not count links this way
// (btrfs leaves a directory's count at 1, ext4 past 65,000 subdirectories).
func holdsDirs(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Nlink > 2
}
