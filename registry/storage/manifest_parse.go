package storage

import (
	"encoding/json"
	"fmt"
	"mime"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of the manifests the registry accepts.
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeOCIManifest    = v1.MediaTypeImageManifest
	MediaTypeOCIIndex       = v1.MediaTypeImageIndex
)

// MaxManifestSize is the largest manifest accepted (4 MiB).
const MaxManifestSize = 4 << 20

// MaxManifestDepth bounds how deeply a manifest's JSON may nest (real ones
// need 4 or 5 levels).
const MaxManifestDepth = 64

// jsonDepth is the deepest nesting of objects and arrays in b, counted
// without parsing (strings skipped), so hostile input costs one pass.
func jsonDepth(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > deepest {
				deepest = depth
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// Manifest is what the registry needs to know of a pushed manifest.
type Manifest struct {
	MediaType    string
	ArtifactType string
	Config       *v1.Descriptor
	Layers       []v1.Descriptor
	Manifests    []v1.Descriptor
	Subject      *v1.Descriptor
	Annotations  map[string]string
}

// IsIndex reports whether the manifest lists other manifests.
func (m *Manifest) IsIndex() bool {
	return m.MediaType == MediaTypeOCIIndex || m.MediaType == MediaTypeDockerList
}

type manifestDoc struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *v1.Descriptor    `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Manifests     []v1.Descriptor   `json:"manifests"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// ParseManifest checks that body is a manifest of a known media type and
// well formed; contentType is the Content-Type it was pushed with. It does
// not look at the store: see validateReferences for that.
func ParseManifest(contentType string, body []byte) (*Manifest, error) {
	if depth := jsonDepth(body); depth > MaxManifestDepth {
		return nil, fmt.Errorf("JSON nested %d levels deep, more than %d: %w", depth, MaxManifestDepth, ErrManifestInvalid)
	}
	if err := checkKeys(body); err != nil {
		return nil, err
	}
	var doc manifestDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v: %w", err, ErrManifestInvalid)
	}
	mt := contentType
	if parsed, _, err := mime.ParseMediaType(contentType); err == nil {
		mt = parsed
	}
	switch {
	case mt == "" || mt == "application/json" || mt == "application/octet-stream":
		mt = doc.MediaType
	case doc.MediaType != "" && doc.MediaType != mt:
		return nil, fmt.Errorf("Content-Type %q but the manifest says mediaType %q: %w", mt, doc.MediaType, ErrManifestInvalid)
	}
	if mt == "" {
		switch {
		case doc.Config != nil:
			mt = MediaTypeOCIManifest
		case doc.Manifests != nil:
			mt = MediaTypeOCIIndex
		}
	}
	if doc.SchemaVersion == nil || *doc.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion must be 2: %w", ErrManifestInvalid)
	}
	m := &Manifest{MediaType: mt, ArtifactType: doc.ArtifactType, Config: doc.Config, Layers: doc.Layers,
		Manifests: doc.Manifests, Subject: doc.Subject, Annotations: doc.Annotations}
	switch mt {
	case MediaTypeOCIManifest, MediaTypeDockerManifest:
		if doc.Config == nil {
			return nil, fmt.Errorf("an image manifest needs a config: %w", ErrManifestInvalid)
		}
		if doc.Manifests != nil {
			return nil, fmt.Errorf("an image manifest has no manifests list: %w", ErrManifestInvalid)
		}
		if err := checkDescriptors(append([]v1.Descriptor{*doc.Config}, doc.Layers...)); err != nil {
			return nil, err
		}
		if m.ArtifactType == "" {
			m.ArtifactType = doc.Config.MediaType
		}
	case MediaTypeOCIIndex, MediaTypeDockerList:
		if doc.Config != nil || doc.Layers != nil {
			return nil, fmt.Errorf("an index has no config or layers: %w", ErrManifestInvalid)
		}
		if err := checkDescriptors(doc.Manifests); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("media type %q is not a manifest this registry accepts: %w", mt, ErrManifestInvalid)
	}
	if doc.Subject != nil {
		if err := checkDescriptors([]v1.Descriptor{*doc.Subject}); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func checkDescriptors(ds []v1.Descriptor) error {
	for _, d := range ds {
		if err := ValidateDigest(d.Digest); err != nil {
			return fmt.Errorf("descriptor digest %q: %v: %w", d.Digest, err, ErrManifestInvalid)
		}
		if d.Size < 0 {
			return fmt.Errorf("descriptor %s has a negative size: %w", d.Digest, ErrManifestInvalid)
		}
		if d.MediaType == "" {
			return fmt.Errorf("descriptor %s has no mediaType: %w", d.Digest, ErrManifestInvalid)
		}
	}
	return nil
}

// ValidateDigest checks a digest's syntax and that its algorithm is one the
// store supports (sha256, sha512).
func ValidateDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if !Supported(d.Algorithm()) {
		return fmt.Errorf("algorithm %s is not supported", d.Algorithm())
	}
	return nil
}
