package storage

import "regexp"

// The spec's grammar for repository names and tags. The store checks every
// value against it before computing a key, whoever calls it: a name such
// as "../../escape" never reaches a driver.
var (
	namePattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagPattern  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// MaxNameLength bounds a repository name (with the host it makes a
// reference that clients cap at 255 characters).
const MaxNameLength = 255

// ValidName reports whether name matches the spec's repository name grammar.
func ValidName(name string) bool {
	return len(name) <= MaxNameLength && namePattern.MatchString(name)
}

// ValidTag reports whether tag matches the spec's tag grammar.
func ValidTag(tag string) bool { return tagPattern.MatchString(tag) }
