package mirror

import (
	"context"
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/storage"
	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Blob is a blob to serve: the store's copy (Stored, seekable), or the
// bytes of a fill as they arrive from the upstream (Stream, Size bytes;
// it fails, short, when the fill fails).
type Blob struct {
	Stored driver.Reader
	Stream io.ReadCloser
	Size   int64
}

// StatBlob returns the size of a blob of a mirrored repository: the
// store's, or the upstream's answer to a HEAD (nothing is fetched).
func (m *Mirror) StatBlob(ctx context.Context, rt *Route, d digest.Digest) (int64, error) {
	size, err := m.store.StatBlob(ctx, rt.Name, d)
	if err == nil || !errors.Is(err, storage.ErrBlobUnknown) {
		return size, err
	}
	if fl := m.filling(d); fl != nil { // being stored: its end decides
		if err := follow(ctx, fl, d); err != nil {
			return 0, err
		}
		if size, err := m.store.StatBlob(ctx, rt.Name, d); err == nil {
			return size, nil
		}
	}
	if err := m.linkKnown(ctx, rt, d); err == nil {
		return m.store.StatBlob(ctx, rt.Name, d)
	} else if !errors.Is(err, storage.ErrBlobUnknown) {
		return 0, err
	}
	body, size, err := rt.up.openBlob(ctx, "HEAD", rt.Repo, d)
	if err != nil {
		return 0, m.upstreamError(err, storage.ErrBlobUnknown)
	}
	body.Close()
	return size, nil
}

// OpenBlob returns a blob of a mirrored repository. One the store holds is
// served from it. One it lacks is fetched from the upstream once, however
// many clients ask at the same time: with stream set, the first one gets
// the bytes as they arrive while they are written into the store; the
// others (and a first one that does not stream: a Range request) wait for
// the store's verified copy.
func (m *Mirror) OpenBlob(ctx context.Context, rt *Route, d digest.Digest, stream bool) (*Blob, error) {
	for {
		f, err := m.store.OpenBlob(ctx, rt.Name, d)
		if err == nil {
			m.stats.hits.Add(1)
			accesslog.Event(ctx, "mirror_hit", "served from cache", logrus.Fields{"digest": d.String()})
			return &Blob{Stored: f, Size: f.Info().Size}, nil
		}
		if !errors.Is(err, storage.ErrBlobUnknown) {
			return nil, err
		}
		// A fill may be storing it right now: its client has the whole
		// blob before the store has linked it. Wait for that fill rather
		// than ask the upstream again.
		if fl := m.filling(d); fl != nil {
			if err := follow(ctx, fl, d); err != nil {
				return nil, err
			}
			continue
		}
		if err := m.linkKnown(ctx, rt, d); err == nil {
			continue
		} else if !errors.Is(err, storage.ErrBlobUnknown) {
			return nil, err
		}
		m.fillsMu.Lock()
		fl := m.fills[d.String()]
		if fl != nil {
			m.fillsMu.Unlock()
			if err := follow(ctx, fl, d); err != nil {
				return nil, err
			}
			continue
		}
		fl = newFill(stream)
		m.fills[d.String()] = fl
		m.fillsMu.Unlock()
		m.stats.misses.Add(1)
		accesslog.Event(ctx, "mirror_miss", "cache miss: fetching blob from upstream, streaming it while it is stored",
			logrus.Fields{"digest": d.String(), "upstream": rt.up.URL + "/" + rt.Repo})
		if err := m.startFill(ctx, rt, d, fl); err != nil {
			return nil, m.upstreamError(err, storage.ErrBlobUnknown)
		}
		if stream && fl.size >= 0 {
			return &Blob{Stream: fl.client, Size: fl.size}, nil
		}
		if stream { // no length to announce: a cut could not be told from the end
			fl.client.Close()
		}
		if err := fl.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// linkKnown links into a mirrored repository a blob the store already
// holds (pulled through another repository, or pushed), once the upstream
// confirms the repository has it: no second download. ErrBlobUnknown when
// the store lacks the blob.
func (m *Mirror) linkKnown(ctx context.Context, rt *Route, d digest.Digest) error {
	size, ok := m.store.BlobSize(ctx, d)
	if !ok {
		return storage.ErrBlobUnknown
	}
	body, upSize, err := rt.up.openBlob(ctx, "HEAD", rt.Repo, d)
	if err != nil {
		return m.upstreamError(err, storage.ErrBlobUnknown)
	}
	body.Close()
	if upSize >= 0 && upSize != size {
		return storage.ErrBlobUnknown // the copy here would not be what the upstream serves: fetch it
	}
	return m.store.LinkBlob(ctx, rt.Name, d)
}

// follow waits for the fill of d under way, saying so.
func follow(ctx context.Context, fl *fill, d digest.Digest) error {
	accesslog.Event(ctx, "mirror_follow", "blob already being fetched from upstream: waiting for that one fetch",
		logrus.Fields{"digest": d.String()})
	return fl.wait(ctx)
}

// filling returns the fill of d under way, or nil.
func (m *Mirror) filling(d digest.Digest) *fill {
	m.fillsMu.Lock()
	defer m.fillsMu.Unlock()
	return m.fills[d.String()]
}

// forget removes a finished fill from the table.
func (m *Mirror) forget(d digest.Digest, fl *fill) {
	m.fillsMu.Lock()
	if m.fills[d.String()] == fl {
		delete(m.fills, d.String())
	}
	m.fillsMu.Unlock()
}
