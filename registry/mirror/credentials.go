package mirror

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// readCredentials reads a file of PREFIX=USER:PASSWORD lines (blank lines
// and # comments skipped). The prefix is written as in --mirror; the
// password may hold colons. An empty path is no credentials.
func readCredentials(path string) (map[string]authn.AuthConfig, error) {
	out := map[string]authn.AuthConfig{}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mirror credentials: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		prefix, userPass, ok := strings.Cut(line, "=")
		user, pass, ok2 := strings.Cut(userPass, ":")
		if !ok || !ok2 || user == "" {
			// The line is not echoed: it may hold a password.
			return nil, fmt.Errorf("mirror credentials %s line %d: want PREFIX=USER:PASSWORD", path, n)
		}
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		out[prefix] = authn.AuthConfig{Username: user, Password: pass}
	}
	return out, sc.Err()
}
