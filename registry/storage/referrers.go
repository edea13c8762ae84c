package storage

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"sort"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// addReferrer records manifest d (whose subject is m.Subject) in the
// subject's referrers directory, as the descriptor the referrers API lists.
// The subject itself need not exist (yet).
func (s *Store) addReferrer(name string, d digest.Digest, size int64, m *Manifest) error {
	desc := v1.Descriptor{MediaType: m.MediaType, Digest: d, Size: size,
		ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	b, err := json.Marshal(desc)
	if err != nil {
		return err
	}
	return s.writeLink(s.referrerPath(name, m.Subject.Digest, d), string(b))
}

// Referrers lists the manifests in the repository whose subject is the
// given digest, optionally only those of one artifactType, ordered by digest.
func (s *Store) Referrers(name string, subject digest.Digest, artifactType string) ([]v1.Descriptor, error) {
	dir := s.referrersDir(name, subject)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return []v1.Descriptor{}, nil
		}
		return nil, err
	}
	out := make([]v1.Descriptor, 0, len(entries))
	for _, e := range entries {
		b, err := readSmallFile(dir+"/"+e.Name(), 1<<20)
		if err != nil {
			continue // removed while we listed
		}
		var desc v1.Descriptor
		if json.Unmarshal(b, &desc) != nil || !exists(s.revisionPath(name, desc.Digest)) {
			continue
		}
		if artifactType == "" || desc.ArtifactType == artifactType {
			out = append(out, desc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}
