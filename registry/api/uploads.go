package api

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/storage"
)

// startUpload is POST /v2/<name>/blobs/uploads/: a cross-repository or
// anonymous mount (?mount=), a monolithic upload (?digest=), or a new
// upload session.
func (a *API) startUpload(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	q := r.URL.Query()
	var notMounted string // why a mount asked for fell back to an upload
	if m := q.Get("mount"); m != "" {
		mounted, why, err := a.mount(w, r, name, m, q.Get("from"))
		if mounted || err != nil {
			return err
		}
		notMounted = why
	}
	if ds := q.Get("digest"); ds != "" {
		d, err := ParseDigest(ds)
		if err != nil {
			return err
		}
		accesslog.From(r.Context()).Digest = ds
		n, err := a.store.PutBlob(r.Context(), name, d, r.ContentLength, r.Body)
		if err != nil {
			return err
		}
		if eventsWanted(r) {
			a.recent.put(clientBlobKey(r, name, d.String()), "")
			accesslog.Event(r.Context(), "blob_committed", "blob committed in one request (monolithic upload)",
				logrus.Fields{"digest": ds, "size": accesslog.HumanSize(n)})
		}
		return blobCreated(w, name, d)
	}
	alg := digest.Canonical
	if as := q.Get("digest-algorithm"); as != "" {
		alg = digest.Algorithm(as)
		if !storage.Supported(alg) {
			return newError(codeDigestInvalid, fmt.Errorf("digest algorithm %.50q is not supported (sha256, sha512 are)", as))
		}
	}
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20)) // a body here carries nothing
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	id, err := a.store.StartUploadFor(r.Context(), name, alg, client, a.opts.MaxUploadsPerClient)
	if err != nil {
		return err
	}
	accesslog.From(r.Context()).UploadID = id
	if notMounted != "" {
		a.recent.put("mount "+id, notMounted)
		from := q.Get("from")
		accesslog.Event(r.Context(), "mount_fell_back", "no mount: "+notMounted+" — an upload session was opened instead",
			logrus.Fields{"upload_id": id, "from": from, "digest": q.Get("mount")})
		return a.uploadAccepted(w, name, id, 0, http.StatusAccepted)
	}
	if eventsWanted(r) {
		accesslog.Event(r.Context(), "upload_started", "upload session started — the client will send the blob's bytes to the Location",
			logrus.Fields{"upload_id": id, "algorithm": alg.String()})
	}
	return a.uploadAccepted(w, name, id, 0, http.StatusAccepted)
}

// mount links a blob from another repository (or, with from empty, from
// anywhere in the store). Not finding it is not an error: the client gets
// an upload session instead, as the spec says.
// When it does not mount, it says why (for the log).
func (a *API) mount(w http.ResponseWriter, r *http.Request, name, m, from string) (bool, string, error) {
	d, err := ParseDigest(m)
	if err != nil {
		return false, "", err
	}
	accesslog.From(r.Context()).Digest = m
	if from != "" {
		if err := ValidateName(from); err != nil {
			return false, "", err
		}
	}
	if a.opts.Auth != nil { // mount only what this client may pull anyway
		if from == "" {
			return false, "a mount without from= is not offered when authentication is on", nil
		}
		if _, err := a.opts.Auth.Authorize(headersOnly{http.Header{}}, r, auth.Pull(from)); err != nil {
			return false, "this client may not pull from " + from, nil
		}
	}
	ok, err := a.store.Mount(r.Context(), name, from, d)
	if err != nil {
		return false, "", err
	}
	if !ok {
		switch {
		case from == "":
			return false, "the registry does not hold this blob", nil
		case from == name:
			return false, "from= names this repository itself, which does not hold the blob", nil
		default:
			return false, from + " does not hold this blob", nil
		}
	}
	src := from
	if src == "" {
		src = "the registry's shared blob store"
	}
	accesslog.Event(r.Context(), "blob_mounted", "blob mounted from "+src+" — no bytes sent",
		logrus.Fields{"digest": m, "from": from})
	return true, "", blobCreated(w, name, d)
}

// headersOnly is a ResponseWriter that keeps nothing: for asking the
// authorizer a question without answering the client.
type headersOnly struct{ h http.Header }

func (w headersOnly) Header() http.Header       { return w.h }
func (headersOnly) Write(b []byte) (int, error) { return len(b), nil }
func (headersOnly) WriteHeader(int)             {}

// blobCreated answers 201 for a blob now in the repository.
func blobCreated(w http.ResponseWriter, name string, d digest.Digest) error {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// uploadAccepted answers for an open session: where to send more, and how
// much the registry holds (Range: 0-<last byte>).
func (a *API) uploadAccepted(w http.ResponseWriter, name, id string, size int64, status int) error {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
	h.Set("Docker-Upload-UUID", id)
	h.Set("Range", rangeHeader(size))
	h.Set("Content-Length", "0")
	if a.opts.ChunkMinLength > 0 {
		h.Set("OCI-Chunk-Min-Length", strconv.FormatInt(a.opts.ChunkMinLength, 10))
	}
	w.WriteHeader(status)
	return nil
}

func rangeHeader(size int64) string {
	end := size - 1
	if end < 0 {
		end = 0
	}
	return "0-" + strconv.FormatInt(end, 10)
}

func uploadVar(r *http.Request) string {
	id := mux.Vars(r)["uuid"]
	accesslog.From(r.Context()).UploadID = id
	return id
}

func (a *API) uploadStatus(w http.ResponseWriter, r *http.Request) error {
	name, id := mux.Vars(r)["name"], uploadVar(r)
	size, err := a.store.UploadStatus(r.Context(), name, id)
	if err != nil {
		return err
	}
	return a.uploadAccepted(w, name, id, size, http.StatusNoContent)
}

// patchUpload appends a chunk: with Content-Range it must start where the
// upload ends (else 416), without it the body is streamed on.
func (a *API) patchUpload(w http.ResponseWriter, r *http.Request) error {
	name, id := mux.Vars(r)["name"], uploadVar(r)
	start, length, err := chunkRange(r)
	if err != nil {
		return err
	}
	size, err := a.store.AppendUpload(r.Context(), name, id, start, length, r.Body)
	if err != nil {
		return rangeError(w, name, id, size, err)
	}
	if eventsWanted(r) {
		f := logrus.Fields{"upload_id": id, "total": accesslog.HumanSize(size)}
		if cr := r.Header.Get("Content-Range"); cr != "" {
			f["content_range"] = cr
		}
		accesslog.Event(r.Context(), "chunk_received", fmt.Sprintf("chunk received, upload now holds bytes %s", rangeHeader(size)), f)
	}
	return a.uploadAccepted(w, name, id, size, http.StatusAccepted)
}

// putUpload closes a session with ?digest=, taking an optional last chunk.
func (a *API) putUpload(w http.ResponseWriter, r *http.Request) error {
	name, id := mux.Vars(r)["name"], uploadVar(r)
	ds := r.URL.Query().Get("digest")
	if ds == "" {
		return newError(codeDigestInvalid, errors.New("closing an upload needs ?digest="))
	}
	d, err := ParseDigest(ds)
	if err != nil {
		return err
	}
	accesslog.From(r.Context()).Digest = ds
	start, length, err := chunkRange(r)
	if err != nil {
		return err
	}
	var body io.Reader
	if r.ContentLength != 0 {
		body = r.Body
	}
	size, err := a.store.FinishUpload(r.Context(), name, id, d, start, length, body)
	if err != nil {
		return rangeError(w, name, id, size, err)
	}
	if eventsWanted(r) {
		a.recent.put(clientBlobKey(r, name, d.String()), "")
		accesslog.Event(r.Context(), "blob_committed", "blob committed, digest verified",
			logrus.Fields{"digest": ds, "size": accesslog.HumanSize(size)})
	}
	return blobCreated(w, name, d)
}

// rangeError adds, to a 416, where the upload stands, so the client can
// resume from the right offset.
func rangeError(w http.ResponseWriter, name, id string, size int64, err error) error {
	if errors.Is(err, storage.ErrRangeInvalid) {
		w.Header().Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
		w.Header().Set("Range", rangeHeader(size))
		w.Header().Set("Docker-Upload-UUID", id)
	}
	return err
}

func (a *API) cancelUpload(w http.ResponseWriter, r *http.Request) error {
	name, id := mux.Vars(r)["name"], uploadVar(r)
	if err := a.store.CancelUpload(r.Context(), name, id); err != nil {
		return err
	}
	if why, ok := a.recent.take("mount " + id); ok {
		accesslog.Event(r.Context(), "upload_cancelled", "upload cancelled: the session a failed mount opened ("+why+
			") — docker and containerd cancel it, then try another source or upload in a new session",
			logrus.Fields{"upload_id": id})
	} else {
		accesslog.Event(r.Context(), "upload_cancelled", "upload cancelled, its bytes are deleted", logrus.Fields{"upload_id": id})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var contentRangePattern = regexp.MustCompile(`^(?:bytes[ =])?([0-9]{1,19})-([0-9]{1,19})(?:/(?:[0-9]{1,19}|\*))?$`)

// ParseContentRange parses "start-end" (also "bytes start-end/total").
func ParseContentRange(s string) (start, end int64, err error) {
	m := contentRangePattern.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("Content-Range %.100q is not start-end", s)
	}
	start, err1 := strconv.ParseInt(m[1], 10, 64)
	end, err2 := strconv.ParseInt(m[2], 10, 64)
	if err1 != nil || err2 != nil || end < start {
		return 0, 0, fmt.Errorf("Content-Range %.100q is not a valid range", s)
	}
	if end == math.MaxInt64 { // its length, end-start+1, would not fit
		return 0, 0, fmt.Errorf("Content-Range %.100q ends beyond the largest size", s)
	}
	return start, end, nil
}

// chunkRange reads Content-Range and Content-Length of a chunk: start is
// -1 without Content-Range, length -1 when unknown.
func chunkRange(r *http.Request) (start, length int64, err error) {
	cr := r.Header.Get("Content-Range")
	length = r.ContentLength
	if cr == "" {
		return -1, length, nil
	}
	start, end, err := ParseContentRange(cr)
	if err != nil {
		return 0, 0, newError(codeBlobUploadInvalid, err).withStatus(http.StatusRequestedRangeNotSatisfiable)
	}
	if length >= 0 && length != end-start+1 {
		return 0, 0, newError(codeSizeInvalid, fmt.Errorf("Content-Range %s is %d bytes, Content-Length says %d", cr, end-start+1, length))
	}
	return start, end - start + 1, nil
}
