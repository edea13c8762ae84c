package server

import (
	"encoding/json"
	"net/http"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/auth"
)

// pullable says which repositories a user may pull when this registry
// holds the access rules (Basic authentication, or tokens it issues
// itself); nil: every one. Tokens from another auth server carry no such
// list: whoever that server lets list the catalog sees all of it.
func (s *Server) pullable(user string) func(repo string) bool {
	if s.basic == nil || s.issuer == nil && s.auth != s.basic {
		return nil
	}
	return s.basic.Pullable(user)
}

// mayDelete says whether the registry would let user DELETE a manifest or
// a tag in repo: deletes on, not read-only, and — when this registry holds
// the access rules — the rules grant delete (the same question the auth
// package asks of a DELETE request, and the token issuer of a delete
// scope). Tokens from another auth server: only that server knows, so the
// explorer offers no button (a DELETE would still be judged by its token).
func (s *Server) mayDelete(user, repo string) bool {
	switch {
	case !s.cfg.DeleteEnabled || s.cfg.ReadOnly:
		return false
	case s.auth == nil:
		return true
	case s.basic != nil && (s.auth == s.basic || s.issuer != nil):
		return s.basic.Permits(user, auth.Delete(repo))
	}
	return false
}

// repoView is what a user who may not pull every repository learns of one
// they may pull: no figure that depends on other repositories (the bytes
// only it holds would tell whether a guessed blob exists elsewhere).
type repoView struct {
	Name         string `json:"name"`
	Manifests    int    `json:"manifests"`
	Tags         int    `json:"tags"`
	Blobs        int    `json:"blobs"`
	LogicalBytes int64  `json:"logical_bytes"`
}

type restrictedUsage struct {
	Repositories []repoView `json:"repositories"`
	LogicalBytes int64      `json:"logical_bytes"`
	Restricted   string     `json:"restricted"`
}

// diskUsage serves the storage report (the same JSON as `registry du
// --json`) — to a user the access rules limit, only the repositories they
// may pull and no store-wide or cross-repository figures.
func (s *Server) diskUsage(w http.ResponseWriter, r *http.Request) {
	u, err := s.store.DiskUsage(r.Context())
	if err != nil {
		s.log.WithError(err).Error("storage report failed")
		http.Error(w, "storage report failed", http.StatusInternalServerError)
		return
	}
	var report any = u
	if may := s.pullable(accesslog.From(r.Context()).User); may != nil {
		v := restrictedUsage{Repositories: []repoView{},
			Restricted: "only the repositories you may pull; figures that depend on other repositories are left out"}
		for _, ru := range u.Repositories {
			if may(ru.Name) {
				v.Repositories = append(v.Repositories, repoView{ru.Name, ru.Manifests, ru.Tags, ru.Blobs, ru.LogicalBytes})
				v.LogicalBytes += ru.LogicalBytes
			}
		}
		report = v
	}
	b, _ := json.MarshalIndent(report, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
