//go:build !linux

package filesystem

// setState: no state attribute here; the session keeps a state file.
func setState(path string, b []byte) error { return errNoAttr }

func getState(path string) ([]byte, error) { return nil, nil }

func dropState(path string) error { return nil }
