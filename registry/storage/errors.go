package storage

import (
	"errors"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Sentinel errors. Callers wrap them with %w; only the api package maps them
// to OCI error codes and HTTP statuses.
var (
	ErrBlobUnknown      = errors.New("blob unknown to registry")
	ErrManifestUnknown  = errors.New("manifest unknown to registry")
	ErrUploadUnknown    = errors.New("blob upload unknown to registry")
	ErrUploadInvalid    = errors.New("blob upload invalid")
	ErrRangeInvalid     = errors.New("requested range not satisfiable")
	ErrDigestInvalid    = errors.New("provided digest did not match uploaded content")
	ErrSizeInvalid      = errors.New("provided length did not match content length")
	ErrNameUnknown      = errors.New("repository name not known to registry")
	ErrManifestInvalid  = errors.New("manifest invalid")
	ErrManifestBlob     = errors.New("manifest references a blob unknown to the repository")
	ErrUnsupported      = errors.New("the operation is unsupported")
	ErrTooManyUploads   = errors.New("too many upload sessions")
	ErrManifestTooLarge = errors.New("manifest too large")
	ErrNameInvalid      = errors.New("invalid repository name")
	ErrTagInvalid       = errors.New("invalid tag")
	// ErrStorageUnavailable: the driver could not reach its backing store
	// (an S3 endpoint down or failing); the same sentinel as the driver's.
	ErrStorageUnavailable = driver.ErrUnavailable
)
