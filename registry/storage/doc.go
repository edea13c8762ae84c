// Package storage is the registry's content-addressable filesystem store.
//
// Everything the registry knows lives in one directory tree that a learner
// can explore with find, cat and jq:
//
//	<root>/blobs/sha256/ab/ab12…                      every blob exactly once (layers, configs, manifests)
//	<root>/repositories/<name>/_layers/sha256/<hex>   link: this repository may serve the blob
//	<root>/repositories/<name>/_manifests/revisions/sha256/<hex>
//	                                                  link: manifest known here; holds its media type
//	<root>/repositories/<name>/_manifests/tags/<tag>  the digest the tag points at
//	<root>/repositories/<name>/_referrers/sha256/<subject-hex>/sha256-<hex>
//	                                                  descriptor of a manifest whose subject is <subject>
//	<root>/uploads/<id>/data, info                    uploads in progress
//	<root>/tmp/                                       temp files, renamed into place when complete
//	<root>/gc/lease-<generation>                      the GC lease: who collects, until when (gclease.go)
//	<root>/gc.done                                    time of the last collection
//	<root>/gc.lock                                    the flock pushes and the sweep share (filesystem)
//
// A name component of a repository can never start with "_", so the
// bookkeeping directories never collide with nested names such as lab/base.
//
// Every write goes to a temp file on the same filesystem, is fsynced,
// verified and renamed into place: a crash leaves the old state or the new
// one, never a torn file.
package storage
