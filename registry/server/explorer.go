package server

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/api"
	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/ui"
)

// routeUI serves the web explorer at /ui/, what it needs to know of the
// registry at /api/info, and the live stream of requests at /api/events
// (for whoever may list the catalog, showing a limited user only the
// repositories they may pull).
func (s *Server) routeUI(router *mux.Router) {
	router.Handle("/ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently)).Methods("GET", "HEAD")
	router.PathPrefix("/ui/").Handler(quietly("ui", ui.Handler("/ui/"))).Methods("GET", "HEAD")
	info := ui.Info{Auth: "off", DeleteEnabled: s.cfg.DeleteEnabled, ReadOnly: s.cfg.ReadOnly}
	switch s.auth.(type) {
	case *auth.Basic:
		info.Auth = "basic"
	case *auth.Token:
		info.Auth = "bearer"
		if s.issuer != nil {
			info.TokenPath = auth.TokenPath
		}
	}
	router.Handle("/api/info", quietly("api.info", ui.InfoHandler(info))).Methods("GET", "HEAD")
	visible := func(r *http.Request) func(string) bool { return s.pullable(accesslog.From(r.Context()).User) }
	router.Handle("/api/events", api.Guard(s.auth, auth.Catalog, ui.Events(s.live, visible))).Methods("GET")
}

// quietly names a route whose successes stay out of the info log (and the
// live view): the explorer's own files.
func quietly(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		quiet(r, route)
		h.ServeHTTP(w, r)
	})
}
