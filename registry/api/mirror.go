package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/mirror"
)

// Repositories under a mirrored prefix are served by the mirror (it fills
// the store from the upstream); everything else by the store alone.

// mirrorRoute is the mirror's route for a repository, or nil.
func (a *API) mirrorRoute(name string) *mirror.Route { return a.opts.Mirror.For(name) }

// mirrorDenied refuses writes to a mirrored repository: DENIED (403)
// rather than UNSUPPORTED, because pushing is supported, only not here —
// the repository is a cache of the upstream, which alone decides its
// content; docker prints the message as "denied: …".
func (a *API) mirrorDenied(name string, writes bool) error {
	if !writes {
		return nil
	}
	rt := a.mirrorRoute(name)
	if rt == nil {
		return nil
	}
	e := newError(codeDenied, nil)
	e.Message = fmt.Sprintf("%s is a read-only mirror of %s/%s: push to the upstream instead", name, rt.Upstream(), rt.Repo)
	return e
}

// mirrorError says what failed upstream: 503 with the upstream named.
func mirrorError(err error) error {
	if !errors.Is(err, mirror.ErrUpstream) {
		return err
	}
	e := newError(codeUnavailable, err)
	e.Message = "the upstream registry is unavailable and the mirror does not hold this content yet"
	return e
}

// manifest reads a manifest from the store, or through the mirror.
func (a *API) manifest(ctx context.Context, name, ref string) ([]byte, string, digest.Digest, error) {
	if rt := a.mirrorRoute(name); rt != nil {
		body, mt, d, err := a.opts.Mirror.Manifest(ctx, rt, ref)
		return body, mt, d, mirrorError(err)
	}
	return a.store.GetManifest(ctx, name, ref)
}

// tags lists a repository's tags: the upstream's for a mirrored one.
func (a *API) tags(ctx context.Context, name string) ([]string, error) {
	if rt := a.mirrorRoute(name); rt != nil {
		tags, err := a.opts.Mirror.Tags(ctx, rt)
		return tags, mirrorError(err)
	}
	return a.store.Tags(ctx, name)
}

// getMirroredBlob serves a blob of a mirrored repository: from the store,
// or streamed from the upstream while it is stored.
func (a *API) getMirroredBlob(w http.ResponseWriter, r *http.Request, rt *mirror.Route, d digest.Digest) error {
	ctx := r.Context()
	h := w.Header()
	if r.Method == http.MethodHead {
		size, err := a.opts.Mirror.StatBlob(ctx, rt, d)
		if err != nil {
			return mirrorError(err)
		}
		blobHeaders(h, d)
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		h.Set("Accept-Ranges", "bytes")
		return nil
	}
	// A plain GET can take the bytes as they arrive; a Range or a
	// conditional request waits for the store's copy.
	stream := r.Header.Get("Range") == "" && r.Header.Get("If-None-Match") == "" && r.Header.Get("If-Range") == ""
	b, err := a.opts.Mirror.OpenBlob(ctx, rt, d, stream)
	if err != nil {
		return mirrorError(err)
	}
	ev := logrus.Fields{"digest": d.String(), "size": accesslog.HumanSize(b.Size)}
	blobHeaders(h, d)
	if b.Stored != nil {
		defer b.Stored.Close()
		http.ServeContent(w, r, "", time.Time{}, copied{b.Stored})
		accesslog.Event(ctx, "blob_pulled", "blob pulled", ev)
		return nil
	}
	defer b.Stream.Close()
	h.Set("Content-Length", strconv.FormatInt(b.Size, 10))
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, b.Stream); err != nil {
		// The status is sent: returning leaves the body short of its
		// Content-Length, so the connection is cut and the client sees
		// the failure.
		accesslog.From(ctx).ErrDetail = "blob cut off: " + err.Error()
		return nil
	}
	accesslog.Event(ctx, "blob_pulled", "blob pulled while it was fetched from upstream and stored", ev)
	return nil
}

// mirroredReferrers passes a mirrored repository's referrers through from
// the upstream; with the upstream down, the store's (cached) list serves.
// It reports whether it answered.
func (a *API) mirroredReferrers(w http.ResponseWriter, r *http.Request, name string, d digest.Digest) (bool, error) {
	rt := a.mirrorRoute(name)
	if rt == nil {
		return false, nil
	}
	at := r.URL.Query().Get("artifactType")
	body, err := a.opts.Mirror.Referrers(r.Context(), rt, d, at)
	if errors.Is(err, mirror.ErrUpstream) {
		accesslog.Event(r.Context(), "mirror_stale", "upstream down: listing the referrers the cache holds", logrus.Fields{"digest": d.String()})
		return false, nil
	}
	if err != nil {
		return true, err
	}
	h := w.Header()
	h.Set("Content-Type", v1.MediaTypeImageIndex)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if at != "" {
		h.Set("OCI-Filters-Applied", "artifactType")
	}
	accesslog.Event(r.Context(), "mirror_referrers", "referrers passed through from upstream", logrus.Fields{"upstream": rt.Upstream()})
	w.Write(body)
	return true, nil
}
