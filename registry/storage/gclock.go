package storage

import (
	"os"
	"path/filepath"
	"syscall"
)

// Garbage collection runs while the registry serves, possibly from another
// process (`registry gc`). They agree through one lock file, <root>/gc.lock:
//
//   - every operation that makes a blob reachable (linking it into a
//     repository, storing a manifest that references it) holds a shared
//     lock while it touches the blob (sets its mtime to now) and commits;
//   - the collector sweeps a blob only under the exclusive lock, and only
//     after re-reading its mtime and finding it older than the collection's
//     start minus a grace period.
//
// So a blob that became reachable during the collection was touched after
// it started and is kept, and no sweep can fall between a client's check
// that a blob exists and the commit that relies on it.
//
// On a driver without a shared directory (S3) the lock is this process's
// alone: a collection in another process relies on the dates alone (see
// gc.go). Collectors exclude one another on every driver with the GC
// lease (gclease.go).

// lockGC takes the GC lock, shared or exclusive, and returns its release.
func (s *Store) lockGC(exclusive bool) (func(), error) {
	if s.root == "" {
		if exclusive {
			s.gcMu.Lock()
			return s.gcMu.Unlock, nil
		}
		s.gcMu.RLock()
		return s.gcMu.RUnlock, nil
	}
	// Plain system calls: this runs on every commit, and an *os.File costs
	// four more (registering the file with the poller and back).
	path := filepath.Join(s.root, "gc.lock")
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_CLOEXEC, 0o644)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(fd, how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { syscall.Close(fd) }, nil // closing releases the lock
}
