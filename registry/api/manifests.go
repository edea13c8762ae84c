package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/storage"
)

// referenceVar parses the {reference} path variable: a tag or a digest.
func referenceVar(r *http.Request) (string, error) {
	ref := mux.Vars(r)["reference"]
	rec := accesslog.From(r.Context())
	if _, ok := storage.AsDigest(ref); ok {
		rec.Digest = ref
	} else {
		rec.Reference = ref
	}
	return ref, ParseReference(ref)
}

// getManifest serves a manifest's exact bytes with the media type it was
// pushed with.
func (a *API) getManifest(w http.ResponseWriter, r *http.Request) error {
	ref, err := referenceVar(r)
	if err != nil {
		return err
	}
	name := mux.Vars(r)["name"]
	body, mt, d, err := a.manifest(r.Context(), name, ref)
	if err != nil {
		return err
	}
	accesslog.From(r.Context()).Digest = d.String()
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return nil
	}
	if eventsWanted(r) {
		accesslog.Event(r.Context(), "manifest_pulled", "manifest pulled: "+name+":"+ref,
			logrus.Fields{"digest": d.String(), "media_type": mt})
	}
	w.Write(body)
	return nil
}

// putManifest stores a manifest under a tag or digest (and any ?tag=).
func (a *API) putManifest(w http.ResponseWriter, r *http.Request) error {
	ref, err := referenceVar(r)
	if err != nil {
		return err
	}
	name := mux.Vars(r)["name"]
	tags := r.URL.Query()["tag"]
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
	}
	if r.ContentLength > storage.MaxManifestSize {
		return tooLarge(fmt.Errorf("Content-Length %d: %w", r.ContentLength, storage.ErrManifestTooLarge))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, storage.MaxManifestSize+1))
	if err != nil {
		return newError(codeManifestInvalid, fmt.Errorf("reading the manifest: %w", err))
	}
	d, m, err := a.store.PutManifest(r.Context(), name, ref, r.Header.Get("Content-Type"), body, tags)
	if errors.Is(err, storage.ErrManifestTooLarge) {
		return tooLarge(err)
	}
	if err != nil {
		return err
	}
	accesslog.From(r.Context()).Digest = d.String()
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/manifests/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	if m.Subject != nil {
		h.Set("OCI-Subject", m.Subject.Digest.String())
	}
	for _, t := range tags {
		h.Add("OCI-Tag", t)
	}
	h.Set("Content-Length", "0")
	a.manifestPushedEvent(r, name, ref, d.String(), m)
	w.WriteHeader(http.StatusCreated)
	return nil
}

// tooLarge is the 413 for a manifest over the limit, saying so.
func tooLarge(err error) error {
	e := toError(err)
	e.Message = fmt.Sprintf("manifest exceeds the %d MiB limit", storage.MaxManifestSize>>20)
	return e
}

// manifestPushedEvent tells the learner what the manifest holds and how
// many of its layers other repositories already share.
func (a *API) manifestPushedEvent(r *http.Request, name, ref, d string, m *storage.Manifest) {
	if !accesslog.From(r.Context()).EventsWanted() {
		return
	}
	f := logrus.Fields{"digest": d, "media_type": m.MediaType}
	msg := fmt.Sprintf("manifest pushed: %s:%s → %s", name, ref, d)
	if m.IsIndex() {
		f["manifests"] = len(m.Manifests)
		msg += ", an index of " + plural(len(m.Manifests), "manifest")
	} else {
		shared, with := sharedLayers(r.Context(), a.store, name, m.Layers)
		f["layers"], f["shared"] = len(m.Layers), shared
		msg += ", " + plural(len(m.Layers), "layer")
		if shared > 0 {
			msg += fmt.Sprintf(", %d shared with %s", shared, with)
		}
	}
	if m.Subject != nil {
		f["subject"] = m.Subject.Digest.String()
		msg += ", a referrer of " + m.Subject.Digest.String()
	}
	accesslog.Event(r.Context(), "manifest_pushed", msg, f)
}

// sharedLayers counts the layers other repositories link too and names
// those repositories, for the learner's event (it walks the tree: called
// only when the learner's events are on).
func sharedLayers(ctx context.Context, store *storage.Store, name string, layers []v1.Descriptor) (int, string) {
	repos, err := store.Repositories(ctx)
	if err != nil {
		return 0, ""
	}
	shared := 0
	var with []string
	for _, l := range layers {
		found := false
		for _, other := range repos {
			if other != name && store.RepoHasBlob(ctx, other, l.Digest) {
				found = true
				if !slices.Contains(with, other) {
					with = append(with, other)
				}
			}
		}
		if found {
			shared++
		}
	}
	return shared, strings.Join(with, ", ")
}

// plural is "1 layer", "2 layers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// deleteManifest deletes by digest (the manifest, its tags and referrer
// entry) or by tag (only that tag).
func (a *API) deleteManifest(w http.ResponseWriter, r *http.Request) error {
	if err := a.deleteAllowed(); err != nil {
		return err
	}
	ref, err := referenceVar(r)
	if err != nil {
		return err
	}
	name := mux.Vars(r)["name"]
	if d, ok := storage.AsDigest(ref); ok {
		if err := a.store.DeleteManifest(r.Context(), name, d); err != nil {
			return err
		}
		accesslog.Event(r.Context(), "manifest_deleted", "manifest deleted with the tags that pointed at it",
			logrus.Fields{"digest": ref})
	} else {
		if err := a.store.DeleteTag(r.Context(), name, ref); err != nil {
			return err
		}
		accesslog.Event(r.Context(), "tag_deleted", "tag deleted: "+name+":"+ref+" — the manifest stays, reachable by digest",
			logrus.Fields{"tag": ref})
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
