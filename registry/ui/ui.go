// Package ui is the web layer explorer: static HTML, CSS and JavaScript
// modules embedded in the binary (no build step, no CDN), served at /ui/
// under a strict Content-Security-Policy. The pages call the same JSON API
// a curl user does (/api/…, /v2/…), with the user's own credentials.
package ui

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Assets is the explorer's files, rooted at the directory served as /ui/.
func Assets() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// CSP allows only the registry's own scripts, styles, images and API: no
// inline script or style, no other origin, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the explorer's files under prefix (e.g. "/ui/").
func Handler(prefix string) http.Handler {
	files := http.StripPrefix(prefix, http.FileServer(http.FS(Assets())))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		if strings.HasSuffix(r.URL.Path, ".js") {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	})
}

// Info is what the explorer needs to know of the registry: which switches
// are on, so it offers only what would work.
type Info struct {
	Auth          string `json:"auth"` // off, basic or bearer
	DeleteEnabled bool   `json:"delete_enabled"`
	ReadOnly      bool   `json:"read_only"`
	TokenPath     string `json:"token_path,omitempty"`
}

// InfoHandler serves Info as JSON (no secret in it: anyone may read it).
func InfoHandler(info Info) http.Handler {
	b, _ := json.Marshal(info)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	})
}
