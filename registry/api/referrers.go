package api

import (
	"net/http"

	"github.com/gorilla/mux"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// referrers lists the manifests whose subject is the digest, as an image
// index, filtered by ?artifactType= when given. Never 404: an unknown
// subject has an empty list.
func (a *API) referrers(w http.ResponseWriter, r *http.Request) error {
	d, err := digestVar(r)
	if err != nil {
		return err
	}
	at := r.URL.Query().Get("artifactType")
	descs, err := a.store.Referrers(mux.Vars(r)["name"], d, at)
	if err != nil {
		return err
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	idx := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: descs}
	idx.SchemaVersion = 2
	return writeJSON(w, v1.MediaTypeImageIndex, idx)
}
