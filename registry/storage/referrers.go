package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// A subject's referrers are one small file each, named by the referrer's
// digest, holding the descriptor the referrers API lists. The list is never
// built in memory: a page is chosen by reading the directory (and, to filter
// by artifactType, one descriptor at a time), then streamed file by file.

// maxDescriptorFile bounds the read of one stored descriptor: it holds a
// manifest's annotations, so it can be as large as a manifest.
const maxDescriptorFile = 2*MaxManifestSize + 64<<10

// addReferrer records manifest d (whose subject is m.Subject) in the
// subject's referrers directory, as the descriptor the referrers API lists.
// The subject itself need not exist (yet).
func (s *Store) addReferrer(ctx context.Context, name string, d digest.Digest, size int64, m *Manifest) error {
	desc := v1.Descriptor{MediaType: m.MediaType, Digest: d, Size: size,
		ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // stored as compact as the manifest that carried it
	if err := enc.Encode(desc); err != nil {
		return err
	}
	return s.writeLink(ctx, s.referrerPath(name, m.Subject.Digest, d), strings.TrimSuffix(b.String(), "\n"))
}

// ReferrersQuery selects a page of a subject's referrers.
type ReferrersQuery struct {
	ArtifactType string        // only referrers of this artifactType ("" for all)
	After        digest.Digest // start after this referrer ("" from the first)
	Max          int           // at most this many descriptors (0: no count limit)
	MaxBytes     int64         // at most this many bytes of descriptors, unless one alone is larger
}

// ReferrersPage is one page of a subject's referrers, in digest order.
type ReferrersPage struct {
	files []string
	// Next is the last referrer of this page when more follow ("" when this
	// page is the last): the next page starts after it.
	Next digest.Digest
}

// Referrers chooses a page of the manifests in the repository whose subject
// is the given digest. An unknown subject has an empty list.
func (s *Store) Referrers(ctx context.Context, name string, subject digest.Digest, q ReferrersQuery) (*ReferrersPage, error) {
	dir := s.referrersDir(name, subject)
	entries, err := os.ReadDir(dir) // sorted by name: "<alg>-<hex>" sorts as the digests do
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &ReferrersPage{}, nil
		}
		return nil, err
	}
	page := &ReferrersPage{}
	var bytes int64
	var last digest.Digest
	for _, e := range entries {
		alg, hex, _ := strings.Cut(e.Name(), "-")
		d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
		if ValidateDigest(d) != nil || (q.After != "" && d <= q.After) || !exists(s.revisionPath(name, d)) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed while we listed
		}
		path := filepath.Join(dir, e.Name())
		if q.ArtifactType != "" && !hasArtifactType(path, q.ArtifactType) {
			continue
		}
		full := q.Max > 0 && len(page.files) >= q.Max
		if full || (len(page.files) > 0 && bytes+info.Size() > q.MaxBytes) {
			page.Next = last
			break
		}
		page.files = append(page.files, path)
		bytes += info.Size()
		last = d
	}
	return page, nil
}

// hasArtifactType reads one stored descriptor and compares its artifactType.
func hasArtifactType(path, artifactType string) bool {
	b, err := readSmallFile(path, maxDescriptorFile)
	if err != nil {
		return false
	}
	var desc struct {
		ArtifactType string `json:"artifactType"`
	}
	return json.Unmarshal(b, &desc) == nil && desc.ArtifactType == artifactType
}

// WriteTo streams the page's descriptors to w as the elements of a JSON
// array (comma separated, without the brackets). A referrer deleted since
// the page was chosen is left out.
func (p *ReferrersPage) WriteTo(w io.Writer) (int64, error) {
	var total int64
	first := true
	for _, path := range p.files {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if !first {
			n, err := io.WriteString(w, ",")
			if total += int64(n); err != nil {
				f.Close()
				return total, err
			}
		}
		first = false
		n, err := io.Copy(w, f)
		f.Close()
		if total += n; err != nil {
			return total, err
		}
	}
	return total, nil
}
