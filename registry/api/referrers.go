package api

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlab/layerlab/registry/storage"
)

// referrers lists the manifests whose subject is the digest, as an image
// index, filtered by ?artifactType= when given. Never 404: an unknown
// subject has an empty list. A page holds at most 4 MiB of descriptors (as
// a manifest may, and at least one) or ?n= of them; when more follow, a
// Link header (rel="next") points at the next page. Descriptors are
// streamed from the store one at a time, so memory stays flat however
// large their annotations.
func (a *API) referrers(w http.ResponseWriter, r *http.Request) error {
	d, err := digestVar(r)
	if err != nil {
		return err
	}
	name := mux.Vars(r)["name"]
	if served, err := a.mirroredReferrers(w, r, name, d); served || err != nil {
		return err
	}
	q := r.URL.Query()
	query := storage.ReferrersQuery{ArtifactType: q.Get("artifactType"), MaxBytes: storage.MaxManifestSize}
	if ns := q.Get("n"); ns != "" {
		n, err := strconv.Atoi(ns)
		if err != nil || n < 1 {
			return newError(codePaginationNumberInvalid, fmt.Errorf("n=%.20q is not a positive count", ns))
		}
		query.Max = min(n, MaxPageSize)
	}
	if last := q.Get("last"); last != "" {
		if query.After, err = ParseDigest(last); err != nil {
			return err
		}
	}
	page, err := a.store.Referrers(r.Context(), name, d, query)
	if err != nil {
		return err
	}
	h := w.Header()
	if query.ArtifactType != "" {
		h.Set("OCI-Filters-Applied", "artifactType")
	}
	if page.Next != "" {
		next := url.Values{"last": {page.Next.String()}}
		if query.ArtifactType != "" {
			next.Set("artifactType", query.ArtifactType)
		}
		if query.Max > 0 {
			next.Set("n", strconv.Itoa(query.Max))
		}
		h.Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
	}
	h.Set("Content-Type", v1.MediaTypeImageIndex)
	io.WriteString(w, `{"schemaVersion":2,"mediaType":"`+v1.MediaTypeImageIndex+`","manifests":[`)
	if _, err := page.WriteTo(w); err != nil {
		return nil // the client went away mid-list; the status was sent
	}
	io.WriteString(w, "]}")
	return nil
}
