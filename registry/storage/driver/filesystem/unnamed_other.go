//go:build !linux

package filesystem

import "errors"

var errUnnamedUnsupported = errors.New("unnamed temp files unsupported")

func unnamedUsable() bool               { return false }
func openUnnamed(string) (int, error)   { return -1, errUnnamedUnsupported }
func linkUnnamed(int, string) error     { return errUnnamedUnsupported }
func renameNoReplace(_, _ string) error { return errUnnamedUnsupported }
