package api

import (
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage"
)

// ValidateName checks a repository name against the spec's grammar.
func ValidateName(name string) error {
	if !storage.ValidName(name) {
		return newError(codeNameInvalid, fmt.Errorf("%.300q does not match the repository name grammar", name))
	}
	return nil
}

// ValidateTag checks a tag against the spec's grammar.
func ValidateTag(tag string) error {
	if !storage.ValidTag(tag) {
		return newError(codeTagInvalid, fmt.Errorf("%.300q does not match the tag grammar", tag))
	}
	return nil
}

// ParseDigest checks a digest's syntax and algorithm.
func ParseDigest(s string) (digest.Digest, error) {
	d := digest.Digest(s)
	if err := storage.ValidateDigest(d); err != nil {
		e := newError(codeDigestInvalid, fmt.Errorf("%.300q: %v", s, err))
		e.Message = "invalid digest: expected algorithm:hex of sha256 or sha512"
		return "", e
	}
	return d, nil
}

// ParseReference checks a manifest reference: a tag or a digest.
func ParseReference(ref string) error {
	if _, ok := storage.AsDigest(ref); ok {
		_, err := ParseDigest(ref)
		return err
	}
	return ValidateTag(ref)
}
