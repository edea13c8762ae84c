package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/storage"
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

// freshness says what an /api/du answer reflects.
type freshness struct {
	Generation string    `json:"generation"` // the store's generation the report was made at
	AsOf       time.Time `json:"as_of"`      // when the walk that made it began
	Stale      bool      `json:"stale"`      // the store has changed since: a newer report is being made
}

// maxUsagePage is /api/du's page of repositories when ?n= is absent, and
// the most one page holds.
const maxUsagePage = 1000

// diskUsage serves the storage report (the same JSON as `registry du
// --json`, plus generation, as_of and stale) from the usage cache — see
// storage.UsageCache for when it is current. Repositories come a page at a
// time, sorted by name: ?n= (at most 1000, the default) and ?last=, with a
// Link header to the next page. To a user the access rules limit, only the
// repositories they may pull and no store-wide or cross-repository figures.
func (s *Server) diskUsage(w http.ResponseWriter, r *http.Request) {
	n, last, err := usagePage(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rep, stale, err := s.du.Get(r.Context())
	if err != nil {
		s.log.WithError(err).Error("storage report failed")
		http.Error(w, "storage report failed", http.StatusInternalServerError)
		return
	}
	f := freshness{rep.Generation, rep.AsOf, stale}
	repos := rep.Repositories
	if may := s.pullable(accesslog.From(r.Context()).User); may != nil {
		v := restrictedUsage{Repositories: []repoView{},
			Restricted: "only the repositories you may pull; figures that depend on other repositories are left out"}
		var names []string
		for _, ru := range repos {
			if may(ru.Name) {
				v.LogicalBytes += ru.LogicalBytes
				if ru.Name > last && len(names) <= n {
					v.Repositories = append(v.Repositories, repoView{ru.Name, ru.Manifests, ru.Tags, ru.Blobs, ru.LogicalBytes})
					names = append(names, ru.Name)
				}
			}
		}
		if len(names) > n {
			v.Repositories = v.Repositories[:n]
			setUsageNext(w, r, n, names[n-1])
		}
		writeUsage(w, struct {
			restrictedUsage
			freshness
		}{v, f})
		return
	}
	i := sort.Search(len(repos), func(i int) bool { return repos[i].Name > last })
	repos = repos[i:]
	if len(repos) > n {
		repos = repos[:n]
		setUsageNext(w, r, n, repos[n-1].Name)
	}
	u := *rep.Usage
	u.Repositories = repos
	writeUsage(w, struct {
		*storage.Usage
		freshness
	}{&u, f})
}

func usagePage(r *http.Request) (n int, last string, err error) {
	n = maxUsagePage
	if ns := r.URL.Query().Get("n"); ns != "" {
		if n, err = strconv.Atoi(ns); err != nil || n < 1 {
			return 0, "", fmt.Errorf("n=%.20q is not a count of 1 or more", ns)
		}
		n = min(n, maxUsagePage)
	}
	return n, r.URL.Query().Get("last"), nil
}

func setUsageNext(w http.ResponseWriter, r *http.Request, n int, last string) {
	next := url.Values{"n": {strconv.Itoa(n)}, "last": {last}}
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
}

func writeUsage(w http.ResponseWriter, a any) {
	b, _ := json.MarshalIndent(a, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
