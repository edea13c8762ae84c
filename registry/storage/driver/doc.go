// Package driver is the boundary between the store (content addressing,
// links, tags, referrers, upload sessions, garbage collection) and where its
// bytes live: a driver speaks keys and bytes, the store speaks digests and
// repositories.
//
// Three drivers implement it: filesystem (the default: the store's tree on
// a local disk, with temp + fsync + rename and directory fsync), s3 (any
// S3-compatible bucket, on minio-go) and memory (fast tests). One suite,
// drivertest.Run, checks every driver against the contract written on the
// interface; the s3 driver runs it against SeaweedFS and versitygw in CI.
//
// # The contract in short
//
//   - Keys are relative slash paths; every method refuses one that could
//     leave the root or prefix ("..", absolute, NUL, backslash, empty
//     components) with ErrInvalidKey, whoever calls it.
//   - Put streams, and the object appears only whole and only after the
//     caller's Verify accepted the byte count (it hashed them meanwhile).
//     Replacing is atomic; with IfNotExists, of concurrent creators exactly
//     one wins (blobs committed once; a lease object for garbage collection).
//   - Reads stream with Seek (Range); GetContent reads small objects whole.
//   - List walks in lexical key order from StartAfter, one level or all
//     levels, without reading what lies before StartAfter.
//   - Upload sessions keep their bytes and the caller's state (offset,
//     marshalled hash) in the backing store, so any process can continue a
//     session, and Commit turns it into an object without the caller
//     sending the bytes again.
//
// # Phase 2: the store over the driver
//
// The store keeps today's tree, now as keys (paths.go computes keys instead
// of file paths, so it stays the one place that names them):
//
//	blobs/<alg>/<hex[:2]>/<hex>                        blob bytes
//	repositories/<name>/_layers/<alg>/<hex>            layer link
//	repositories/<name>/_manifests/revisions/<alg>/<hex>  revision link (media type)
//	repositories/<name>/_manifests/tags/<tag>          tag (digest)
//	repositories/<name>/_referrers/<alg>/<subject>/<alg>-<hex>  referrer descriptor
//	uploads/<id>/data…, uploads/<id>/state             session bytes and state (the driver's; on the
//	                                                   filesystem one file, uploads/<id>, its state an
//	                                                   attribute of it)
//	uploads/<id>/info                                  session info (left by older registries)
//	gc.done                                            time of the last collection
//	gc/lease-<generation>                              the GC lease (holder, expiry)
//
// How each operation maps (S3 round trips in brackets):
//
//   - StatBlob, RepoHasBlob: Stat(link) then Stat(blob) [2 HEAD]. OpenBlob:
//     Stat(link), Open(blob) [HEAD, HEAD, then one ranged GET]; the api
//     serves the driver.Reader with http.ServeContent, or, when the driver
//     has URL(ctx, key, expiry) and redirects are on, answers 307 to it.
//   - PutBlob (digest known: monolithic PUT, POST ?digest=): Put(blob,
//     TeeReader(body, hash), IfNotExists, Verify: digest and size) — on S3
//     a multipart upload straight to the final key, completed only when the
//     digest matched; ErrExist means another push stored it first: success.
//     Then LinkBlob.
//   - StartUpload: StartUpload("uploads/<id>", state) and Put(info). The
//     state is the marshalled running hash (sha256/sha512 implement
//     encoding.BinaryMarshaler); the offset is Upload.Size.
//   - AppendUpload: ResumeUpload, then Append(TeeReader(chunk, hash), state:
//     marshal the hash). The in-process session lock stays (one process
//     never interleaves two appends); across processes clients do not send
//     two PATCHes of one session at once, and if they did the session stays
//     consistent (the last state stored wins, bytes and hash agreeing).
//     Sessions stored by today's store (data, no state) resume with their
//     size and no state; the store then rebuilds the hash from Reader.
//   - FinishUpload: append the last chunk, compare the digest of the
//     restored hash, Commit(blob, IfNotExists) — on S3 a server-side
//     compose, no byte through the registry for chunks of 5 MiB or more;
//     ErrExist: Cancel the session, the blob is there. Then LinkBlob.
//     A second digest algorithm at PUT time rehashes from Reader, as today.
//   - CancelUpload: Cancel and Delete(info). CleanUploads: List("uploads/")
//     one level; a session whose state (or info) is older than the max age
//     is cancelled; on S3 also AbortStale for multipart uploads left by
//     killed processes.
//   - LinkBlob, tags, revisions, referrers: Put of a few bytes (atomic
//     replace). Mount: Stat(source link), Stat(blob), LinkBlob.
//   - PutManifest: Put(blob, body, IfNotExists) (ErrExist is fine), then the
//     revision link, referrer descriptor and tags. GetManifest:
//     GetContent(tag), GetContent(revision), GetContent(blob) behind the
//     manifest cache [3 GET, 2 once cached].
//   - Tags(name, last, n): List(".../_manifests/tags/", StartAfter: tags
//     prefix + last), files only, ErrStop after n+1 — a page never lists the
//     whole repository. hasManifests: List(revisions/, Recursive) stopped at
//     the first object.
//   - Referrers pages: List(".../_referrers/<alg>/<subject>/", StartAfter:
//     the last descriptor's key), GetContent of each descriptor.
//   - Catalog(last, n): walk List("repositories/", one level) depth-first;
//     a directory starting with "_" is bookkeeping, a directory holding
//     _manifests/revisions objects is a repository. Pagination passes
//     StartAfter = "repositories/" + last at every level and descends into a
//     directory that StartAfter lies within ("repositories/lab/" when last
//     is "lab/base"), so a page lists from last onwards, not from the start.
//   - GC: the mark phase lists repositories (revisions, and layer links with
//     their modification times) and reads manifests; the sweep deletes an
//     unmarked blob older than the grace only if no link to it is younger
//     either. On the filesystem the flock protocol of gclock.go stays. On
//     every driver one collector at a time holds the GC lease,
//     gc/lease-<generation> (Put IfNotExists of the next generation; holder
//     and expiry inside; see storage/gclease.go). On S3, with no shared lock,
//     "touching" a blob (KeepFresh, validateReferences, LinkBlob) rewrites
//     the repository's layer link, a small PUT that dates it now, since an
//     object's date cannot be changed in place; the sweep re-reads the
//     blob's and links' dates just before each Delete.
//   - du and the running counters: one recursive List of blobs/ and
//     repositories/ at start, as the filesystem walk does today.
//   - /readyz: Put and Delete of a probe key, or the s3 driver's Ready (the
//     bucket answers).
//
// Errors: driver.ErrNotFound becomes the store's sentinel for what was
// looked up (ErrBlobUnknown, ErrManifestUnknown, ErrUploadUnknown…); any
// other driver error (network, 5xx, timeouts) is wrapped in a new
// ErrStorageUnavailable, which api/errors.go maps to 503 with the endpoint
// in the log line.
//
// Consistency assumed of S3: strong read-after-write and list-after-write
// (AWS since 2020, SeaweedFS and versitygw), and If-None-Match: * honoured
// on PutObject and CompleteMultipartUpload (the suite's ConcurrentCommit
// and IfNotExists tests fail on a server that ignores it). Multi-object
// changes (a manifest, its revision link, its tags) are ordered so that a
// crash between them leaves only unreferenced or dangling objects that GC
// removes, never a tag that points at nothing stored: blob first, then
// revision, then tags.
//
// Filesystem performance: the store's flush-behind writer
// (writeback_linux.go) and its raw-syscall small-file read move into the
// filesystem driver, so that `make bench -versus` shows the filesystem
// figures unchanged.
package driver
