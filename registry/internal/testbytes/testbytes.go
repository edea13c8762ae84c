// Package testbytes makes test content. It imports nothing of the
// registry's, so every package's tests may use it, the storage drivers'
// contract suite included (which must not import the server-side test kit).
package testbytes

import (
	"crypto/rand"
	"testing"
)

// Random returns n random bytes: content no other test shares.
func Random(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
