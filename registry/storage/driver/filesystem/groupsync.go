package filesystem

import (
	"fmt"
	"sync"
	"syscall"
)

// Group commit of directory flushes. A commit renames or links a file into
// a directory, then flushes the directory so the new entry survives a power
// cut, and only then answers its caller. Commits that land in one directory
// together share one flush: while a flush of a directory runs, the commits
// that arrive wait for it to end and then go out together in the next one —
// which starts after each of their entries was made, so it covers them all.
// Only then is any of them answered. File data keeps one fsync per file:
// the kernel's journal already merges concurrent fsyncs into one commit,
// and a flush of the whole filesystem (syncfs) would also wait for every
// other program's dirty pages.
//
// A flush that fails fails every commit of its batch, and the entries the
// batch created exclusively (new blobs) are removed again before any of
// them is answered: none becomes visible for good, and a concurrent writer
// that found one (ErrExist) waits for a later flush and finds it gone.

// dirFlush is the group-commit state of one directory.
type dirFlush struct {
	cond              *sync.Cond
	running           bool
	started, finished uint64           // flushes started and finished
	failed            map[uint64]error // the flushes that failed, by number
	created           []string         // exclusive entries the next flush must cover
	users             int              // commits waiting: the state is dropped at 0
}

type flusher struct {
	mu   sync.Mutex
	dirs map[string]*dirFlush
}

// syncDir makes the entries of dir durable (unless NoSync), sharing the
// flush with the commits that arrive at the same time. created, when not
// "", is an entry this commit made exclusively, to be removed if the flush
// fails.
func (d *Driver) syncDir(dir, created string) error {
	if !d.sync {
		return nil
	}
	f := &d.flush
	f.mu.Lock()
	st := f.dirs[dir]
	if st == nil {
		if f.dirs == nil {
			f.dirs = map[string]*dirFlush{}
		}
		st = &dirFlush{cond: sync.NewCond(&f.mu)}
		f.dirs[dir] = st
	}
	st.users++
	if created != "" {
		st.created = append(st.created, created)
	}
	need := st.started + 1 // the first flush to start after this entry was made
	for st.finished < need {
		if st.running {
			st.cond.Wait()
			continue
		}
		st.running = true
		st.started++
		n, batch := st.started, st.created
		st.created = nil
		f.mu.Unlock()
		err := d.flushDir(dir)
		if err != nil {
			for _, p := range batch { // roll back before anyone is answered
				syscall.Unlink(p)
			}
		}
		f.mu.Lock()
		st.running, st.finished = false, n
		if err != nil {
			if st.failed == nil {
				st.failed = map[uint64]error{}
			}
			st.failed[n] = err
		}
		st.cond.Broadcast()
	}
	// The flush numbered need is the first to start after this entry was
	// made: it covered the entry, or failed and removed what it created.
	err := st.failed[need]
	if st.users--; st.users == 0 {
		delete(f.dirs, dir)
	}
	f.mu.Unlock()
	return err
}

// flushDir fsyncs one directory.
func (d *Driver) flushDir(dir string) error {
	if d.dirSynced != nil {
		d.dirSynced(dir)
	}
	if d.syncFault != nil {
		if err := d.syncFault(dir); err != nil {
			return err
		}
	}
	fd, err := openFile(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	for {
		err = syscall.Fsync(fd)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
