//go:build !linux

package filesystem

import (
	"context"
	"io"
)

// writeBehind is the plain file where sync_file_range does not exist.
func writeBehind(_ context.Context, w io.Writer, _ int, _ int64) io.Writer { return w }
