package server

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/layerlab/layerlab/registry/mirror"
)

// setupMirror builds the pull-through cache when prefixes are mirrored.
func (s *Server) setupMirror() error {
	m, err := mirror.New(s.cfg.Mirror, s.store, s.log)
	if err != nil || m == nil {
		return err
	}
	s.mirror = m
	s.metrics.AddMirror(m.Stats)
	return nil
}

// evictMirrored deletes cached manifests not pulled for --mirror-max-age,
// now and then (and once at start); the next garbage collection frees the
// blobs nothing else references.
func (s *Server) evictMirrored(ctx context.Context) {
	every := min(s.cfg.Mirror.MaxAge/4, time.Hour)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		evicted, err := s.mirror.Evict(ctx, s.cfg.Mirror.MaxAge)
		if err != nil {
			s.log.WithError(err).Warn("mirror: evicting idle cached manifests failed")
		}
		for _, e := range evicted {
			s.log.WithFields(logrus.Fields{"repository": e.Repository, "digest": e.Digest.String(),
				"last_pulled": e.LastPulled.UTC().Format(time.RFC3339)}).Info("mirror: evicted a cached manifest not pulled for --mirror-max-age")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
