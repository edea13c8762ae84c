package auth

import (
	"slices"
	"strings"
)

// Scope is what a request needs, in the words of the Docker token protocol:
// "repository:lab/app:pull,push" or "registry:catalog:*". The zero Scope is
// what /v2/ needs: only to know who is asking.
type Scope struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// Actions a request can need on a repository.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
)

// Pull is the scope reads of a repository need.
func Pull(repo string) Scope { return Scope{"repository", repo, []string{ActionPull}} }

// Push is the scope writes need: who uploads must be able to read back.
func Push(repo string) Scope { return Scope{"repository", repo, []string{ActionPull, ActionPush}} }

// Delete is the scope deleting a manifest or a blob needs.
func Delete(repo string) Scope { return Scope{"repository", repo, []string{ActionDelete}} }

// Catalog is the scope listing every repository needs.
var Catalog = Scope{"registry", "catalog", []string{"*"}}

// String is the scope as a challenge or a token request writes it.
func (s Scope) String() string {
	if s.Type == "" {
		return ""
	}
	return s.Type + ":" + s.Name + ":" + strings.Join(s.Actions, ",")
}

// writes reports whether the scope changes something (push or delete).
func (s Scope) writes() bool {
	return slices.Contains(s.Actions, ActionPush) || slices.Contains(s.Actions, ActionDelete)
}

// ParseScope reads "type:name:action,action". Names may hold a colon (a
// registry host with a port), so the type is cut at the first colon and
// the actions at the last.
func ParseScope(s string) (Scope, bool) {
	typ, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Scope{}, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 || typ == "" {
		return Scope{}, false
	}
	var actions []string
	for _, a := range strings.Split(rest[i+1:], ",") {
		if a != "" && !slices.Contains(actions, a) {
			actions = append(actions, a)
		}
	}
	return Scope{typ, rest[:i], actions}, true
}

// grants reports whether the granted scopes cover every action of need.
func grants(granted []Scope, need Scope) bool {
	for _, action := range need.Actions {
		if !slices.ContainsFunc(granted, func(g Scope) bool {
			return g.Type == need.Type && g.Name == need.Name &&
				(slices.Contains(g.Actions, action) || slices.Contains(g.Actions, "*"))
		}) {
			return false
		}
	}
	return true
}
