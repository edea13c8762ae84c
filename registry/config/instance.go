package config

import (
	"fmt"
	"os"
	"strings"
)

// The instance names one registry process among replicas serving one
// store: it is written on every access-log line and exported in the
// metrics, so that a line or a sample says which replica it came from. It
// is a word of at most 64 letters, digits, '.', '_' and '-' (a host name,
// a container name): nothing a log reader or a metrics label must escape.
const maxInstance = 64

// defaultInstance is the host name (a container's id or name under
// Docker), made into a valid instance name, or "registry".
func defaultInstance() string {
	h, err := os.Hostname()
	if err != nil {
		return "registry"
	}
	h = strings.Map(func(r rune) rune {
		if instanceRune(r) {
			return r
		}
		return '-'
	}, h)
	if len(h) > maxInstance {
		h = h[:maxInstance]
	}
	if h == "" {
		return "registry"
	}
	return h
}

func instanceRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// validInstance checks an instance name given by flag or environment.
func validInstance(name string) error {
	if name == "" || len(name) > maxInstance || strings.IndexFunc(name, func(r rune) bool { return !instanceRune(r) }) >= 0 {
		return fmt.Errorf("--instance %q: want 1 to %d letters, digits, '.', '_' or '-'", name, maxInstance)
	}
	return nil
}
