// Package lines reads the registry's small line-based files (htpasswd, the
// mirror's credentials): one entry per line, blank lines and # comments
// skipped.
package lines

import (
	"bufio"
	"os"
	"strings"
)

// Each calls fn with every entry of the file at path, trimmed, and its
// line number. It stops at fn's first error and returns it, or an error
// opening or reading the file.
func Each(path string, fn func(n int, line string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}
