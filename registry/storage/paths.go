package storage

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Every key the store hands its driver is computed here, as a slash path
// relative to the driver's root (a directory, or a bucket and prefix):
//
//	blobs/<alg>/<hex[:2]>/<hex>
//	repositories/<name>/_layers/<alg>/<hex>
//	repositories/<name>/_manifests/revisions/<alg>/<hex>
//	repositories/<name>/_manifests/tags/<tag>
//	repositories/<name>/_referrers/<alg>/<subject-hex>/<alg>-<hex>
//	uploads/<id>/...
//	gc/lease-<generation>   (gclease.go)
//	gc.done
//
// The values come from callers, so the store checks them itself (checkName,
// checkTag, checkDigest, ValidUploadID) before a key is made: nobody can make
// it reach outside its root, whoever calls it. The driver refuses such keys
// too.

const (
	blobsPrefix   = "blobs/"
	reposPrefix   = "repositories/"
	uploadsPrefix = "uploads/"
	gcDoneKey     = "gc.done"
)

func blobKey(d digest.Digest) string {
	hex := d.Encoded()
	return blobsPrefix + d.Algorithm().String() + "/" + hex[:2] + "/" + hex
}

func repoPrefix(name string) string { return reposPrefix + name + "/" }

func layersPrefix(name string) string { return repoPrefix(name) + "_layers/" }

func layerLinkKey(name string, d digest.Digest) string {
	return layersPrefix(name) + d.Algorithm().String() + "/" + d.Encoded()
}

func revisionsPrefix(name string) string { return repoPrefix(name) + "_manifests/revisions/" }

func revisionKey(name string, d digest.Digest) string {
	return revisionsPrefix(name) + d.Algorithm().String() + "/" + d.Encoded()
}

func tagsPrefix(name string) string { return repoPrefix(name) + "_manifests/tags/" }

func tagKey(name, tag string) string { return tagsPrefix(name) + tag }

func referrersPrefix(name string, subject digest.Digest) string {
	return repoPrefix(name) + "_referrers/" + subject.Algorithm().String() + "/" + subject.Encoded() + "/"
}

func referrerKey(name string, subject, referrer digest.Digest) string {
	return referrersPrefix(name, subject) + referrer.Algorithm().String() + "-" + referrer.Encoded()
}

func uploadPrefix(id string) string { return uploadsPrefix + id }

func uploadInfoKey(id string) string { return uploadPrefix(id) + "/info" }

// checkName refuses a repository name that is not made of path components
// the spec allows: lowercase alphanumerics and separators, never "..",
// never a component starting with "_" (the store's own directories).
func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("repository name %q: %w", name, ErrNameInvalid)
	}
	return nil
}

// checkTag refuses a tag that is not the spec's [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
func checkTag(tag string) error {
	if !ValidTag(tag) {
		return fmt.Errorf("tag %q: %w", tag, ErrTagInvalid)
	}
	return nil
}

// checkDigest refuses a digest that is not a supported algorithm with a
// well-formed hex part.
func checkDigest(d digest.Digest) error {
	if err := ValidateDigest(d); err != nil {
		return fmt.Errorf("digest %q: %w", d, ErrDigestInvalid)
	}
	return nil
}

// keyOf turns a listed key's last component into its name.
func lastComponent(key string) string {
	key = strings.TrimSuffix(key, "/")
	return key[strings.LastIndexByte(key, '/')+1:]
}
