//go:build linux

package filesystem

import (
	"bytes"
	"context"
	"testing"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// TestWriteBehindUnlessNobodyWaits: a write is handed to the kernel for
// writeback as it goes, unless its context says nobody waits for its
// commit (a mirror's fill).
func TestWriteBehindUnlessNobodyWaits(t *testing.T) {
	var buf bytes.Buffer
	if _, ok := writeBehind(context.Background(), &buf, 0, 0).(*flushBehind); !ok {
		t.Error("a plain write is not written behind")
	}
	if w := writeBehind(driver.WithoutWriteBehind(context.Background()), &buf, 0, 0); w != &buf {
		t.Errorf("a write nobody waits on is wrapped: %T", w)
	}
}
