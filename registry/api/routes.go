// Package api speaks the OCI Distribution Specification over HTTP: routes,
// handlers (one file per resource) and the one table of error codes.
package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/mirror"
	"github.com/layerlab/layerlab/registry/storage"
)

// Options are the API's switches.
type Options struct {
	DeleteEnabled bool
	ReadOnly      bool
	// ChunkMinLength is advertised as OCI-Chunk-Min-Length (0: not sent).
	ChunkMinLength int64
	// Auth, when set, decides who may pull and push.
	Auth Authorizer
	// MaxUploadsPerClient bounds the open upload sessions of one client
	// address (0: no limit).
	MaxUploadsPerClient int
	// Pullable, when set, says which repositories a user may pull (nil
	// from it: all); the catalog lists only those.
	Pullable func(user string) func(repo string) bool
	// RedirectBlobs answers blob GETs with a redirect to a URL of the
	// storage (a presigned S3 URL) where the driver can make one.
	RedirectBlobs bool
	// Mirror, when set, serves the repositories under mirrored prefixes
	// (read-only) from upstream registries: mirror.go.
	Mirror *mirror.Mirror
}

// Authorizer decides whether a request may have the scope it needs
// (auth.Pull, auth.Push, auth.Delete, auth.Catalog; the zero scope for
// /v2/). It returns the user's name and sets any challenge header on w.
type Authorizer interface {
	Authorize(w http.ResponseWriter, r *http.Request, need auth.Scope) (string, error)
}

// API serves /v2/ from a store.
type API struct {
	store  *storage.Store
	opts   Options
	recent recent // what clients just did, for the learner's events
}

// handlerFunc is a handler that returns its error; handle writes it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route names a route: the access log's route field and the metrics'
// route label. The names are declared once, here; a misspelled one does
// not compile.
type Route string

// The routes, in the order of the table below.
const (
	RouteManifestGet    Route = "manifest.get"
	RouteBlobGet        Route = "blob.get"
	RouteManifestPut    Route = "manifest.put"
	RouteManifestDelete Route = "manifest.delete"
	RouteBlobDelete     Route = "blob.delete"
	RouteUploadStart    Route = "upload.start"
	RouteUploadStatus   Route = "upload.status"
	RouteUploadPatch    Route = "upload.patch"
	RouteUploadPut      Route = "upload.put"
	RouteUploadCancel   Route = "upload.cancel"
	RouteTagsList       Route = "tags.list"
	RouteReferrers      Route = "referrers"
	RouteBase           Route = "base"
	RouteCatalog        Route = "catalog"
	RouteNotFound       Route = "notfound"
	RouteNotAllowed     Route = "notallowed"
)

// Register adds the whole /v2 route table to router.
func Register(router *mux.Router, store *storage.Store, opts Options) {
	a := &API{store: store, opts: opts}
	v2 := router.PathPrefix("/v2").Subrouter()
	const name = "/{name:.+}"

	// Hot routes first: gorilla/mux tries them in order.
	v2.Handle(name+"/manifests/{reference}", a.handle(RouteManifestGet, a.getManifest)).Methods("GET", "HEAD")
	v2.Handle(name+"/blobs/{digest}", a.handle(RouteBlobGet, a.getBlob)).Methods("GET", "HEAD")
	v2.Handle(name+"/manifests/{reference}", a.handle(RouteManifestPut, a.putManifest)).Methods("PUT")
	v2.Handle(name+"/manifests/{reference}", a.handle(RouteManifestDelete, a.deleteManifest)).Methods("DELETE")
	v2.Handle(name+"/blobs/{digest}", a.handle(RouteBlobDelete, a.deleteBlob)).Methods("DELETE")

	v2.Handle(name+"/blobs/uploads/", a.handle(RouteUploadStart, a.startUpload)).Methods("POST")
	v2.Handle(name+"/blobs/uploads/{uuid}", a.handle(RouteUploadStatus, a.uploadStatus)).Methods("GET")
	v2.Handle(name+"/blobs/uploads/{uuid}", a.handle(RouteUploadPatch, a.patchUpload)).Methods("PATCH")
	v2.Handle(name+"/blobs/uploads/{uuid}", a.handle(RouteUploadPut, a.putUpload)).Methods("PUT")
	v2.Handle(name+"/blobs/uploads/{uuid}", a.handle(RouteUploadCancel, a.cancelUpload)).Methods("DELETE")

	v2.Handle(name+"/tags/list", a.handle(RouteTagsList, a.listTags)).Methods("GET")
	v2.Handle(name+"/referrers/{digest}", a.handle(RouteReferrers, a.referrers)).Methods("GET")
	v2.Handle("/", a.handle(RouteBase, a.base)).Methods("GET", "HEAD")
	v2.Handle("/_catalog", a.handle(RouteCatalog, a.catalog)).Methods("GET")

	// A path no route takes is NOT_FOUND; a path a route takes with another
	// method is UNSUPPORTED (405). gorilla/mux loses the method mismatch
	// on some paths once a subrouter has a NotFoundHandler, so it is asked
	// again here.
	v2.NotFoundHandler = a.handle(RouteNotFound, func(w http.ResponseWriter, r *http.Request) error {
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			var match mux.RouteMatch
			if m != r.Method && v2.Match(probe, &match) && match.MatchErr == nil {
				return newError(codeUnsupported, fmt.Errorf("%s is not allowed on %s", r.Method, r.URL.Path))
			}
		}
		return newError(codeNotFound, nil)
	})
	v2.MethodNotAllowedHandler = a.handle(RouteNotAllowed, func(w http.ResponseWriter, r *http.Request) error {
		return newError(codeUnsupported, fmt.Errorf("%s is not allowed on %s", r.Method, r.URL.Path))
	})
}

// handle adapts a handlerFunc: it names the route for the log, validates
// the repository name, refuses writes in read-only mode and writes any
// error as the spec's JSON envelope.
func (a *API) handle(route Route, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := accesslog.From(r.Context())
		rec.Route = string(route)
		err := a.precheck(w, r, route, rec)
		if err == nil {
			err = fn(w, r)
		}
		if err != nil {
			writeError(w, r, err)
		}
	})
}

// scopeOf is what a request needs, as the Docker token protocol names it,
// and whether it writes.
func scopeOf(r *http.Request, name string, route Route) (auth.Scope, bool) {
	switch {
	case name == "" && route == RouteCatalog:
		return auth.Catalog, false
	case name == "":
		return auth.Scope{}, false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return auth.Pull(name), false
	case http.MethodDelete:
		if route == RouteManifestDelete || route == RouteBlobDelete {
			return auth.Delete(name), true
		}
	}
	return auth.Push(name), true
}

func (a *API) precheck(w http.ResponseWriter, r *http.Request, route Route, rec *accesslog.Record) error {
	name, hasName := mux.Vars(r)["name"]
	if hasName {
		rec.Repository = name
		if err := ValidateName(name); err != nil {
			return err
		}
	}
	need, writes := scopeOf(r, name, route)
	if err := authorize(a.opts.Auth, w, r, need); err != nil {
		return err
	}
	if err := a.mirrorDenied(name, writes); err != nil {
		return err
	}
	if a.opts.ReadOnly && writes {
		e := newError(codeUnsupported, nil)
		e.Message = "the registry is in read-only mode: pushes and deletes are refused"
		return e
	}
	return nil
}

// authorize asks az (nil: authentication is off) for the scope and
// records who asked in the access log.
func authorize(az Authorizer, w http.ResponseWriter, r *http.Request, need auth.Scope) error {
	if az == nil {
		return nil
	}
	user, err := az.Authorize(w, r, need)
	accesslog.From(r.Context()).User = user
	return err
}

// Guard puts a handler outside /v2/ (the storage report, metrics) behind
// the same authentication: the request needs the given scope, and a
// refusal gets the spec's error envelope.
func Guard(az Authorizer, need auth.Scope, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := authorize(az, w, r, need); err != nil {
			writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// CommonHeaders sets the headers every response carries.
func CommonHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		next.ServeHTTP(w, r)
	})
}

func (a *API) base(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	if r.Method != http.MethodHead {
		w.Write([]byte("{}"))
	}
	return nil
}

// deleteAllowed refuses deletes when they are switched off.
func (a *API) deleteAllowed() error {
	if !a.opts.DeleteEnabled {
		e := newError(codeUnsupported, nil)
		e.Message = "deletes are disabled on this registry"
		return e
	}
	return nil
}
