package index

import (
	"sort"

	"github.com/opencontainers/go-digest"
)

// Visible says which repositories a caller may see; nil: every one.
type Visible func(repo string) bool

// repos returns the manifest's repositories the caller may see.
func (v Visible) repos(m *Manifest) []string {
	if v == nil {
		return m.Repositories
	}
	var out []string
	for _, r := range m.Repositories {
		if v(r) {
			out = append(out, r)
		}
	}
	return out
}

// Images returns up to n images (image manifests) the caller may see, in
// digest order, starting after last; more says whether others follow.
func (snap *Snapshot) Images(v Visible, last digest.Digest, n int) (out []*Manifest, more bool) {
	i := sort.Search(len(snap.images), func(i int) bool { return snap.images[i].Digest > last })
	for ; i < len(snap.images); i++ {
		m := snap.images[i]
		if len(v.repos(m)) == 0 {
			continue
		}
		if len(out) == n {
			return out, true
		}
		out = append(out, m)
	}
	return out, false
}

// Manifest returns a manifest the caller may see.
func (snap *Snapshot) Manifest(v Visible, d digest.Digest) (*Manifest, bool) {
	m := snap.Manifests[d]
	if m == nil || len(v.repos(m)) == 0 {
		return nil, false
	}
	return m, true
}

// Repos lists the repositories holding m that the caller may see.
func (snap *Snapshot) Repos(v Visible, m *Manifest) []string { return v.repos(m) }

// Tags lists the tags pointing at d in a repository.
func (snap *Snapshot) Tags(repo string, d digest.Digest) []string {
	i := sort.Search(len(snap.Repositories), func(i int) bool { return snap.Repositories[i].Name >= repo })
	if i == len(snap.Repositories) || snap.Repositories[i].Name != repo {
		return nil
	}
	var out []string
	for _, t := range snap.Repositories[i].Tags {
		if t.Digest == d {
			out = append(out, t.Name)
		}
	}
	return out
}

// Relative is an image related to another by its layers.
type Relative struct {
	Image        *Manifest
	SharedLayers int // how many leading layers the two have in common
}

// Family returns the images m is built on (their layers are a proper
// prefix of m's), nearest first, and the images built on m (m's layers are
// a proper prefix of theirs), in digest order.
func (snap *Snapshot) Family(v Visible, m *Manifest) (bases, derived []Relative) {
	n := len(m.Chains)
	for i := n - 2; i >= 0; i-- {
		for _, b := range snap.topChain[m.Chains[i]] {
			if len(v.repos(b)) > 0 {
				bases = append(bases, Relative{b, i + 1})
			}
		}
	}
	if n == 0 {
		return bases, nil
	}
	for _, d := range snap.atChain[m.Chains[n-1]] {
		if len(d.Chains) > n && len(v.repos(d)) > 0 {
			derived = append(derived, Relative{d, n})
		}
	}
	return bases, derived
}

// Use is one manifest referencing a blob.
type Use struct {
	Manifest *Manifest
	Role     string
	Position int
}

// BlobUsers returns the manifests the caller may see that reference the
// blob as config or layer, in digest order.
func (snap *Snapshot) BlobUsers(v Visible, d digest.Digest) []Use {
	var out []Use
	for _, m := range snap.users[d] {
		if len(v.repos(m)) == 0 {
			continue
		}
		for _, r := range m.Refs {
			if r.Digest == d && r.Role != RoleChild {
				out = append(out, Use{m, r.Role, r.Position})
				break
			}
		}
	}
	return out
}

// BlobSize returns the stored size of a blob and whether the store holds it.
func (snap *Snapshot) BlobSize(d digest.Digest) (int64, bool) {
	size, ok := snap.Blobs[d]
	return size, ok
}
