//go:build linux

package filesystem

import (
	"encoding/binary"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// readDir calls fn for each entry of the directory at path (not "." and
// "..") with its name and whether it is a directory or a regular file,
// until fn returns false. It reads with getdents64 on a plain descriptor:
// os.Open would also make it non-blocking, register it with the runtime's
// poller and undo both (six system calls more per directory, which a
// catalog page pays twice per repository). An entry whose type the
// filesystem does not report is looked at with lstat.
func readDir(path string, fn func(name string, dir, regular bool) bool) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "getdents", Path: path, Err: err}
		}
		if n <= 0 {
			return nil
		}
		for b := buf[:n]; len(b) >= direntNameOff; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < direntNameOff || reclen > len(b) {
				break
			}
			typ, name := b[18], b[direntNameOff:reclen]
			b = b[reclen:]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if s := string(name); s != "." && s != ".." && !emit(path, s, typ, fn) {
				return nil
			}
		}
	}
}

const direntNameOff = 19

// 8 KiB a read, as os.ReadDir reads.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// emit passes one entry to fn, its type from lstat when the filesystem
// left it unknown.
func emit(dir, name string, typ uint8, fn func(string, bool, bool) bool) bool {
	if typ == unix.DT_UNKNOWN {
		var st unix.Stat_t
		if unix.Lstat(dir+"/"+name, &st) != nil {
			return true // removed meanwhile
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			typ = unix.DT_DIR
		case unix.S_IFREG:
			typ = unix.DT_REG
		}
	}
	return fn(name, typ == unix.DT_DIR, typ == unix.DT_REG)
}

// noAtime opens a file for reading without updating its access time,
// which nothing in the store reads: a read then leaves its inode clean
// (no inode write, no journal entry). The kernel allows it to the file's
// owner only; others read as usual (see openRead).
const noAtime = unix.O_NOATIME
