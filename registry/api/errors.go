package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"syscall"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/storage"
)

// Error is an OCI error: a code from the spec, the HTTP status it travels
// with, and a message for people. Err, when set, is the cause (logged).
type Error struct {
	Code    string
	Status  int
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// The one table: every code the registry answers with, its status and message.
var codes = map[string]struct {
	status  int
	message string
}{
	"BLOB_UNKNOWN":              {http.StatusNotFound, "blob unknown to registry"},
	"BLOB_UPLOAD_INVALID":       {http.StatusBadRequest, "blob upload invalid"},
	"BLOB_UPLOAD_UNKNOWN":       {http.StatusNotFound, "blob upload unknown to registry"},
	"DIGEST_INVALID":            {http.StatusBadRequest, "provided digest did not match uploaded content"},
	"MANIFEST_BLOB_UNKNOWN":     {http.StatusNotFound, "manifest references a manifest or blob unknown to registry"},
	"MANIFEST_INVALID":          {http.StatusBadRequest, "manifest invalid"},
	"MANIFEST_UNKNOWN":          {http.StatusNotFound, "manifest unknown to registry"},
	"NAME_INVALID":              {http.StatusBadRequest, "invalid repository name"},
	"NAME_UNKNOWN":              {http.StatusNotFound, "repository name not known to registry"},
	"SIZE_INVALID":              {http.StatusBadRequest, "provided length did not match content length"},
	"TAG_INVALID":               {http.StatusBadRequest, "invalid tag"},
	"UNAUTHORIZED":              {http.StatusUnauthorized, "authentication required"},
	"DENIED":                    {http.StatusForbidden, "requested access to the resource is denied"},
	"UNSUPPORTED":               {http.StatusMethodNotAllowed, "the operation is unsupported"},
	"TOOMANYREQUESTS":           {http.StatusTooManyRequests, "too many requests"},
	"PAGINATION_NUMBER_INVALID": {http.StatusBadRequest, "invalid number of results requested"},
	"NOT_FOUND":                 {http.StatusNotFound, "no such endpoint"},
	"UNKNOWN":                   {http.StatusInternalServerError, "unknown error"},
	"UNAVAILABLE":               {http.StatusServiceUnavailable, "storage unavailable, try again later"},
}

// newError builds an Error for code; cause may be nil.
func newError(code string, cause error) *Error {
	c := codes[code]
	return &Error{Code: code, Status: c.status, Message: c.message, Err: cause}
}

// withStatus overrides the status a code usually travels with.
func (e *Error) withStatus(status int) *Error { e.Status = status; return e }

// storageErrors maps the store's sentinel errors to codes and statuses.
var storageErrors = []struct {
	err    error
	code   string
	status int
}{
	{storage.ErrBlobUnknown, "BLOB_UNKNOWN", 0},
	{storage.ErrManifestUnknown, "MANIFEST_UNKNOWN", 0},
	{storage.ErrUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 0},
	{storage.ErrUploadInvalid, "BLOB_UPLOAD_INVALID", 0},
	{storage.ErrRangeInvalid, "BLOB_UPLOAD_INVALID", http.StatusRequestedRangeNotSatisfiable},
	{storage.ErrDigestInvalid, "DIGEST_INVALID", 0},
	{storage.ErrSizeInvalid, "SIZE_INVALID", 0},
	{storage.ErrNameUnknown, "NAME_UNKNOWN", 0},
	{storage.ErrManifestInvalid, "MANIFEST_INVALID", 0},
	{storage.ErrManifestBlob, "MANIFEST_BLOB_UNKNOWN", 0},
	{storage.ErrUnsupported, "UNSUPPORTED", 0},
	{storage.ErrTooManyUploads, "TOOMANYREQUESTS", 0},
	{storage.ErrManifestTooLarge, "SIZE_INVALID", http.StatusRequestEntityTooLarge},
	{storage.ErrNameInvalid, "NAME_INVALID", 0},
	{storage.ErrTagInvalid, "TAG_INVALID", 0},
	{storage.ErrStorageUnavailable, "UNAVAILABLE", 0},
	{auth.ErrUnauthorized, "UNAUTHORIZED", 0},
	{auth.ErrDenied, "DENIED", 0},
	{auth.ErrTooMany, "TOOMANYREQUESTS", 0},
}

// toError turns any error a handler returns into an OCI error.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var be *BodyError
	if errors.As(err, &be) {
		return bodyErrorCode(be)
	}
	for _, m := range storageErrors {
		if errors.Is(err, m.err) {
			e = newError(m.code, err)
			if m.status != 0 {
				e.Status = m.status
			}
			return e
		}
	}
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		e = newError("UNKNOWN", err).withStatus(http.StatusInsufficientStorage)
		e.Message = "the registry's storage is full; nothing stored before was changed, retry when space is freed"
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		e = newError("UNKNOWN", err).withStatus(http.StatusServiceUnavailable)
		e.Message = "the registry cannot write to its storage (read-only or permission denied)"
	default:
		e = newError("UNKNOWN", err)
	}
	return e
}

// logDetailer is an error that says more to the log than to the client
// (a refused token: the client reads the reason, the log its cause too).
type logDetailer interface{ LogDetail() string }

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError sends the spec's JSON error envelope and notes the error on
// the request's access-log record (which logs it once).
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toError(err)
	rec := accesslog.From(r.Context())
	rec.ErrCode, rec.ErrMessage = e.Code, e.Message
	if e.Err != nil {
		rec.ErrDetail = e.Err.Error()
		var ld logDetailer
		if errors.As(e.Err, &ld) {
			rec.ErrDetail = ld.LogDetail()
		}
	}
	var detail any
	if e.Err != nil && e.Status < 500 {
		detail = e.Err.Error()
	}
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: e.Code, Message: e.Message, Detail: detail}}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("Docker-Content-Digest")
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
