// Package s3 is the driver that keeps objects in an S3-compatible bucket
// (AWS S3, SeaweedFS, versitygw, Ceph RGW, Garage, MinIO…): the key
// "blobs/sha256/ab/ab12…" is the object <prefix>blobs/sha256/ab/ab12…, so
// the bucket holds the same tree as the filesystem driver's root.
//
// # Client library: minio-go v7
//
// minio-go v7 rather than aws-sdk-go-v2 because it is one module with few
// dependencies (aws-sdk-go-v2 needs a dozen modules: the core, config,
// credentials, the s3 service, its manager, smithy…), it speaks to any
// S3-compatible endpoint by design (path-style or virtual-host lookup, a
// custom endpoint and transport are plain options), and its low-level Core
// API exposes exactly the calls this driver composes: multipart uploads
// with streamed parts, server-side part copies (UploadPartCopy), ListObjects
// with StartAfter, presigned GETs, conditional writes (If-None-Match on
// PutObject and CompleteMultipartUpload) and the listing and aborting of
// incomplete multipart uploads. Its credential chain reads
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the AWS shared credentials file
// and instance roles. It is maintained by MinIO and used by many projects
// (zot among registries).
//
// # Writing: visible only whole, verified, no second copy
//
// Put reads the stream one part at a time into a pooled buffer of
// Config.PartSize bytes (memory per write is one part, never the object).
// An object that fits one part is sent with one PutObject after the caller
// verified it; a larger one becomes a multipart upload to the final key,
// completed only once the caller's Verify accepted the bytes, aborted on
// any error. S3 shows an object only when PutObject or
// CompleteMultipartUpload returns, so nothing half-written or unverified is
// ever visible, and where the digest is known up front (monolithic PUT,
// POST ?digest=) the bytes go over the wire once, straight to their key.
// With IfNotExists the driver checks first (to spare the bandwidth) and
// sends If-None-Match: * on the final call, so of two racing creators one
// gets ErrExist.
//
// # Upload sessions: state in the bucket
//
// A session at key K is the object K/state (JSON: size, the list of
// chunks, the caller's state) and one object per appended chunk,
// K/data-<offset>-<random>. Append writes its chunk under a new name, then
// replaces K/state: a reader of K/state always finds the chunks it lists,
// and two holders appending from the same offset leave the state of the
// last one, whose chunk list matches its caller state. Any process holding
// the bucket's credentials can continue the session.
//
// Commit composes the chunks into the destination with one multipart
// upload: a chunk of at least 5 MiB (S3's minimum part) becomes a part by
// server-side copy (UploadPartCopy: the bytes never leave the server);
// smaller chunks are streamed through the driver, grouped until a part
// reaches 5 MiB. A client sending its blob in one PATCH, as docker, crane
// and podman do, is committed with no byte copied through the registry. The
// upload is completed with If-None-Match when the caller asked for
// IfNotExists; then K/state and the chunks are deleted.
//
// # Abandoned work
//
// A process killed mid-write leaves an incomplete multipart upload, which
// the bucket bills for until it is aborted: AbortStale aborts those older
// than a given age (the store calls it where it cleans stale sessions; a
// bucket lifecycle rule AbortIncompleteMultipartUpload does the same
// server-side).
package s3
