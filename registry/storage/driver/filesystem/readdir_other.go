//go:build !linux

package filesystem

import "os"

// readDir calls fn for each entry of the directory at path with its name
// and whether it is a directory or a regular file, until fn returns false.
func readDir(path string, fn func(name string, dir, regular bool) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	for _, e := range entries {
		if !fn(e.Name(), e.IsDir(), e.Type().IsRegular()) {
			return nil
		}
	}
	return err
}

// noAtime: no such flag here.
const noAtime = 0
