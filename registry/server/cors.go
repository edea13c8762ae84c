package server

import (
	"net/http"
	"slices"
	"strings"
)

// cors lets browser UIs on the allowed origins call the API: it answers
// preflight requests and exposes the headers the protocol uses. Off unless
// REGISTRY_CORS_ORIGINS is set.
func cors(origins []string, next http.Handler) http.Handler {
	for i := range origins {
		origins[i] = strings.TrimSpace(origins[i])
	}
	all := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !(all || slices.Contains(origins, origin)) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Docker-Content-Digest, Docker-Upload-UUID, Location, Range, Link, OCI-Subject, OCI-Tag, OCI-Filters-Applied, OCI-Chunk-Min-Length, X-Request-Id, WWW-Authenticate")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Range, Range, Accept, X-Request-Id")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
