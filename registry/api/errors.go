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

// Code is one of the spec's error codes with the HTTP status it travels
// with and its message for people. Each code is declared once, below; a
// handler names the variable, so a misspelled code does not compile.
type Code struct {
	name    string
	status  int
	message string
}

// String is the code as it travels in the JSON envelope: "BLOB_UNKNOWN".
func (c Code) String() string { return c.name }

// The codes the registry answers with: the spec's, then NOT_FOUND and
// UNKNOWN for what the spec leaves open.
var (
	codeBlobUnknown             = Code{"BLOB_UNKNOWN", http.StatusNotFound, "blob unknown to registry"}
	codeBlobUploadInvalid       = Code{"BLOB_UPLOAD_INVALID", http.StatusBadRequest, "blob upload invalid"}
	codeBlobUploadUnknown       = Code{"BLOB_UPLOAD_UNKNOWN", http.StatusNotFound, "blob upload unknown to registry"}
	codeDigestInvalid           = Code{"DIGEST_INVALID", http.StatusBadRequest, "provided digest did not match uploaded content"}
	codeManifestBlobUnknown     = Code{"MANIFEST_BLOB_UNKNOWN", http.StatusNotFound, "manifest references a manifest or blob unknown to registry"}
	codeManifestInvalid         = Code{"MANIFEST_INVALID", http.StatusBadRequest, "manifest invalid"}
	codeManifestUnknown         = Code{"MANIFEST_UNKNOWN", http.StatusNotFound, "manifest unknown to registry"}
	codeNameInvalid             = Code{"NAME_INVALID", http.StatusBadRequest, "invalid repository name"}
	codeNameUnknown             = Code{"NAME_UNKNOWN", http.StatusNotFound, "repository name not known to registry"}
	codeSizeInvalid             = Code{"SIZE_INVALID", http.StatusBadRequest, "provided length did not match content length"}
	codeTagInvalid              = Code{"TAG_INVALID", http.StatusBadRequest, "invalid tag"}
	codeUnauthorized            = Code{"UNAUTHORIZED", http.StatusUnauthorized, "authentication required"}
	codeDenied                  = Code{"DENIED", http.StatusForbidden, "requested access to the resource is denied"}
	codeUnsupported             = Code{"UNSUPPORTED", http.StatusMethodNotAllowed, "the operation is unsupported"}
	codeTooManyRequests         = Code{"TOOMANYREQUESTS", http.StatusTooManyRequests, "too many requests"}
	codePaginationNumberInvalid = Code{"PAGINATION_NUMBER_INVALID", http.StatusBadRequest, "invalid number of results requested"}
	codeNotFound                = Code{"NOT_FOUND", http.StatusNotFound, "no such endpoint"}
	codeUnknown                 = Code{"UNKNOWN", http.StatusInternalServerError, "unknown error"}
	codeUnavailable             = Code{"UNAVAILABLE", http.StatusServiceUnavailable, "storage unavailable, try again later"}
)

// Error is an OCI error: a code from the spec, the HTTP status it travels
// with, and a message for people. Err, when set, is the cause (logged).
type Error struct {
	Code    Code
	Status  int
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code.name + ": " + e.Err.Error()
	}
	return e.Code.name + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// newError builds an Error for code; cause may be nil.
func newError(code Code, cause error) *Error {
	return &Error{Code: code, Status: code.status, Message: code.message, Err: cause}
}

// withStatus overrides the status a code usually travels with.
func (e *Error) withStatus(status int) *Error { e.Status = status; return e }

// storageErrors maps the store's sentinel errors to codes and statuses.
var storageErrors = []struct {
	err    error
	code   Code
	status int
}{
	{storage.ErrBlobUnknown, codeBlobUnknown, 0},
	{storage.ErrManifestUnknown, codeManifestUnknown, 0},
	{storage.ErrUploadUnknown, codeBlobUploadUnknown, 0},
	{storage.ErrUploadInvalid, codeBlobUploadInvalid, 0},
	{storage.ErrRangeInvalid, codeBlobUploadInvalid, http.StatusRequestedRangeNotSatisfiable},
	{storage.ErrDigestInvalid, codeDigestInvalid, 0},
	{storage.ErrSizeInvalid, codeSizeInvalid, 0},
	{storage.ErrNameUnknown, codeNameUnknown, 0},
	{storage.ErrManifestInvalid, codeManifestInvalid, 0},
	{storage.ErrManifestBlob, codeManifestBlobUnknown, 0},
	{storage.ErrUnsupported, codeUnsupported, 0},
	{storage.ErrTooManyUploads, codeTooManyRequests, 0},
	{storage.ErrManifestTooLarge, codeSizeInvalid, http.StatusRequestEntityTooLarge},
	{storage.ErrNameInvalid, codeNameInvalid, 0},
	{storage.ErrTagInvalid, codeTagInvalid, 0},
	{storage.ErrStorageUnavailable, codeUnavailable, 0},
	{auth.ErrUnauthorized, codeUnauthorized, 0},
	{auth.ErrDenied, codeDenied, 0},
	{auth.ErrTooMany, codeTooManyRequests, 0},
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
		e = newError(codeUnknown, err).withStatus(http.StatusInsufficientStorage)
		e.Message = "the registry's storage is full; nothing stored before was changed, retry when space is freed"
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		e = newError(codeUnknown, err).withStatus(http.StatusServiceUnavailable)
		e.Message = "the registry cannot write to its storage (read-only or permission denied)"
	default:
		e = newError(codeUnknown, err)
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
	rec.ErrCode, rec.ErrMessage = e.Code.name, e.Message
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
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: e.Code.name, Message: e.Message, Detail: detail}}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("Docker-Content-Digest")
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
