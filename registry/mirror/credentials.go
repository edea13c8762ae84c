package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/layerlab/layerlab/registry/internal/lines"
)

// readCredentials reads a file of PREFIX=USER:PASSWORD lines (blank lines
// and # comments skipped). The prefix is written as in --mirror; the
// password may hold colons. An empty path is no credentials.
func readCredentials(path string) (map[string]authn.AuthConfig, error) {
	out := map[string]authn.AuthConfig{}
	if path == "" {
		return out, nil
	}
	err := lines.Each(path, func(n int, line string) error {
		prefix, userPass, ok := strings.Cut(line, "=")
		user, pass, ok2 := strings.Cut(userPass, ":")
		if !ok || !ok2 || user == "" {
			// The line is not echoed: it may hold a password.
			return fmt.Errorf("mirror credentials %s line %d: want PREFIX=USER:PASSWORD", path, n)
		}
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		out[prefix] = authn.AuthConfig{Username: user, Password: pass}
		return nil
	})
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) { // the file could not be read
		return nil, fmt.Errorf("mirror credentials: %w", err)
	}
	return out, err
}
