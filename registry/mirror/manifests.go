package mirror

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/storage"
)

// Manifest returns a manifest of a mirrored repository: its bytes, media
// type and digest, from the store when it is there (and, for a tag, was
// checked upstream within the TTL), else fetched from the upstream and
// stored. An upstream that is down gets what the store holds served, its
// age logged.
func (m *Mirror) Manifest(ctx context.Context, rt *Route, ref string) ([]byte, string, digest.Digest, error) {
	if d, ok := storage.AsDigest(ref); ok {
		return m.manifestByDigest(ctx, rt, d)
	}
	cached, checked, err := m.store.TagChecked(ctx, rt.Name, ref)
	switch {
	case err == nil && m.now().Sub(checked) < rt.up.TTL:
		return m.fromCache(ctx, rt, ref, cached)
	case err != nil && !errors.Is(err, storage.ErrManifestUnknown):
		return nil, "", "", err
	}
	v, err, _ := m.manifests.Do(rt.Name+":"+ref, func() (any, error) {
		return m.checkTag(ctx, rt, ref, cached)
	})
	if errors.Is(err, ErrUpstream) && cached != "" {
		m.stats.stale.Add(1)
		age := m.now().Sub(checked)
		f := logrus.Fields{"repository": rt.Name, "tag": ref, "digest": cached.String(), "upstream": rt.up.URL,
			"checked": checked.UTC().Format(time.RFC3339), "error": err.Error()}
		m.log.WithFields(f).Warn("upstream down: serving a stale tag from the cache")
		accesslog.Event(ctx, "mirror_stale", fmt.Sprintf("upstream down: serving the cached digest from %s ago", humanAge(age)),
			logrus.Fields{"digest": cached.String(), "upstream": rt.up.URL})
		return m.serve(ctx, rt, cached)
	}
	if err != nil {
		return nil, "", "", m.upstreamError(err, storage.ErrManifestUnknown)
	}
	d := v.(digest.Digest)
	if d == cached {
		m.stats.hits.Add(1)
		accesslog.Event(ctx, "mirror_revalidated", "served from cache: the tag was checked upstream and is unchanged",
			logrus.Fields{"digest": d.String(), "upstream": rt.up.URL})
	}
	return m.serve(ctx, rt, d)
}

// checkTag asks the upstream for the tag's digest (HEAD) and, when the
// cache does not hold that manifest under the tag, fetches and stores it.
func (m *Mirror) checkTag(ctx context.Context, rt *Route, tag string, cached digest.Digest) (digest.Digest, error) {
	d, err := rt.up.headManifest(ctx, rt.Repo, tag)
	if err != nil {
		m.stats.upstreamErrors.Add(1)
		return "", err
	}
	if d == cached {
		return d, m.store.TouchTag(ctx, rt.Name, tag)
	}
	m.stats.misses.Add(1)
	what := "cache miss: fetching " + rt.Name + ":" + tag + " from upstream"
	if cached != "" {
		what = "tag moved upstream: fetching " + rt.Name + ":" + tag + " again"
	}
	accesslog.Event(ctx, "mirror_miss", what, logrus.Fields{"upstream": rt.up.URL + "/" + rt.Repo, "digest": d.String()})
	if _, _, _, err := m.store.GetManifest(ctx, rt.Name, d.String()); err == nil {
		return d, m.store.Tag(ctx, rt.Name, tag, d) // the manifest is here already: only the tag moves
	}
	if err := m.fetchManifest(ctx, rt, tag, d); err != nil {
		return "", err
	}
	return d, nil
}

func (m *Mirror) manifestByDigest(ctx context.Context, rt *Route, d digest.Digest) ([]byte, string, digest.Digest, error) {
	body, mt, got, err := m.store.GetManifest(ctx, rt.Name, d.String())
	if err == nil {
		m.stats.hits.Add(1)
		accesslog.Event(ctx, "mirror_hit", "served from cache", logrus.Fields{"digest": d.String()})
		m.store.MarkPulled(ctx, rt.Name, d)
		return body, mt, got, nil
	}
	if !errors.Is(err, storage.ErrManifestUnknown) {
		return nil, "", "", err
	}
	if err := storage.ValidateDigest(d); err != nil {
		return nil, "", "", err
	}
	_, err, _ = m.manifests.Do(rt.Name+"@"+d.String(), func() (any, error) {
		m.stats.misses.Add(1)
		accesslog.Event(ctx, "mirror_miss", "cache miss: fetching "+rt.Name+"@"+d.String()+" from upstream",
			logrus.Fields{"upstream": rt.up.URL + "/" + rt.Repo})
		return nil, m.fetchManifest(ctx, rt, "", d)
	})
	if err != nil {
		return nil, "", "", m.upstreamError(err, storage.ErrManifestUnknown)
	}
	return m.store.GetManifest(ctx, rt.Name, d.String())
}

// fetchManifest fetches manifest d from the upstream and stores it (under
// tag, when set). The store checks the bytes against d.
func (m *Mirror) fetchManifest(ctx context.Context, rt *Route, tag string, d digest.Digest) error {
	body, mt, _, err := rt.up.getManifest(ctx, rt.Repo, d.String())
	if err != nil {
		m.stats.upstreamErrors.Add(1)
		return err
	}
	m.stats.upstreamBytes.Add(int64(len(body)))
	return m.store.CacheManifest(ctx, rt.Name, tag, mt, body, d)
}

// fromCache serves a tag checked upstream within the TTL.
func (m *Mirror) fromCache(ctx context.Context, rt *Route, tag string, d digest.Digest) ([]byte, string, digest.Digest, error) {
	m.stats.hits.Add(1)
	accesslog.Event(ctx, "mirror_hit", "served from cache: "+rt.Name+":"+tag+" (checked upstream less than "+rt.up.TTL.String()+" ago)",
		logrus.Fields{"digest": d.String()})
	return m.serve(ctx, rt, d)
}

// serve reads a cached manifest by digest and dates it as pulled.
func (m *Mirror) serve(ctx context.Context, rt *Route, d digest.Digest) ([]byte, string, digest.Digest, error) {
	body, mt, got, err := m.store.GetManifest(ctx, rt.Name, d.String())
	if err == nil {
		m.store.MarkPulled(ctx, rt.Name, d)
	}
	return body, mt, got, err
}

// upstreamError turns an upstream's 404 into the store's sentinel for what
// was asked (unknown), and leaves other errors as they are.
func (m *Mirror) upstreamError(err error, unknown error) error {
	if errors.Is(err, errNotFoundUpstream) {
		return fmt.Errorf("%w: %w", err, unknown)
	}
	return err
}

// humanAge is a duration as a learner reads it: 40 s, 12 min, 2 h, 3 days.
func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// Referrers passes the upstream's referrers index of manifest d through.
func (m *Mirror) Referrers(ctx context.Context, rt *Route, d digest.Digest, artifactType string) ([]byte, error) {
	b, err := rt.up.referrers(ctx, rt.Repo, d, artifactType)
	if err != nil {
		m.stats.upstreamErrors.Add(1)
		return nil, m.upstreamError(err, storage.ErrManifestUnknown)
	}
	return b, nil
}

// Tags lists a mirrored repository's tags as the upstream has them, in
// lexical order; with the upstream down, the tags the cache holds.
func (m *Mirror) Tags(ctx context.Context, rt *Route) ([]string, error) {
	tags, err := rt.up.tags(ctx, rt.Repo)
	if errors.Is(err, ErrUpstream) {
		m.stats.upstreamErrors.Add(1)
		accesslog.Event(ctx, "mirror_stale", "upstream down: listing the tags the cache holds", logrus.Fields{"upstream": rt.up.URL})
		return m.store.Tags(ctx, rt.Name)
	}
	if err != nil {
		return nil, m.upstreamError(err, storage.ErrNameUnknown)
	}
	sort.Strings(tags)
	return tags, nil
}
