package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/layerlab/layerlab/registry/storage/driver"
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
	return s.writeLink(ctx, referrerKey(name, m.Subject.Digest, d), strings.TrimSuffix(b.String(), "\n"))
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
	ctx  context.Context
	d    driver.Driver
	keys []string
	// Next is the last referrer of this page when more follow ("" when this
	// page is the last): the next page starts after it.
	Next digest.Digest
}

// Referrers chooses a page of the manifests in the repository whose subject
// is the given digest. An unknown subject has an empty list. The listing
// starts after q.After, so a page costs what it holds, not what precedes it.
func (s *Store) Referrers(ctx context.Context, name string, subject digest.Digest, q ReferrersQuery) (*ReferrersPage, error) {
	if err := checkBlob(name, subject); err != nil {
		return nil, err
	}
	prefix := referrersPrefix(name, subject)
	opts := driver.ListOptions{}
	if q.After != "" && ValidateDigest(q.After) == nil {
		opts.StartAfter = referrerKey(name, subject, q.After)
	}
	page := &ReferrersPage{ctx: ctx, d: s.d}
	var used int64 // bytes of descriptors in the page
	var last digest.Digest
	// Keys are "<alg>-<hex>": they sort as the digests do.
	err := s.d.List(ctx, prefix, opts, func(e driver.Entry) error {
		alg, hex, _ := strings.Cut(lastComponent(e.Key), "-")
		d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
		if e.Dir || ValidateDigest(d) != nil || (q.After != "" && d <= q.After) {
			return nil
		}
		if _, err := s.d.Stat(ctx, revisionKey(name, d)); err != nil {
			return nil // deleted, or a descriptor left by a crash
		}
		if q.ArtifactType != "" && !s.hasArtifactType(ctx, e.Key, q.ArtifactType) {
			return nil
		}
		full := q.Max > 0 && len(page.keys) >= q.Max
		if full || (len(page.keys) > 0 && used+e.Size > q.MaxBytes) {
			page.Next = last
			return driver.ErrStop
		}
		page.keys = append(page.keys, e.Key)
		used += e.Size
		last = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// hasArtifactType reads one stored descriptor and compares its artifactType.
func (s *Store) hasArtifactType(ctx context.Context, key, artifactType string) bool {
	b, err := s.d.GetContent(ctx, key, maxDescriptorFile)
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
	buf := make([]byte, 32<<10)
	for _, key := range p.keys {
		r, err := p.d.Open(p.ctx, key)
		if err != nil {
			continue
		}
		if !first {
			n, err := io.WriteString(w, ",")
			if total += int64(n); err != nil {
				r.Close()
				return total, err
			}
		}
		first = false
		n, err := io.CopyBuffer(onlyWriter{w}, r, buf)
		r.Close()
		if total += n; err != nil {
			return total, err
		}
	}
	return total, nil
}

// onlyWriter hides ReadFrom, so copies go through the caller's buffer.
type onlyWriter struct{ io.Writer }
