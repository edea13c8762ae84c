package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/layerlab/layerlab/registry/mirror"
)

// AddMirror registers the pull-through cache's counters, read from stats
// on scrape. They carry no labels: prefixes and repositories are not a
// closed set.
func (m *Metrics) AddMirror(stats func() mirror.Stats) {
	counter := func(name, help string, value func(mirror.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(value(stats())) })
	}
	m.reg.MustRegister(
		counter("registry_mirror_hits_total", "Manifests and blobs of mirrored repositories served from the cache.", func(s mirror.Stats) int64 { return s.Hits }),
		counter("registry_mirror_misses_total", "Manifests and blobs of mirrored repositories fetched from the upstream.", func(s mirror.Stats) int64 { return s.Misses }),
		counter("registry_mirror_stale_total", "Cached tags served unchecked because the upstream was down.", func(s mirror.Stats) int64 { return s.Stale }),
		counter("registry_mirror_upstream_errors_total", "Upstream requests that failed (unreachable, 5xx, refused, cut off).", func(s mirror.Stats) int64 { return s.UpstreamErrors }),
		counter("registry_mirror_upstream_bytes_total", "Bytes of manifests and blobs received from upstreams.", func(s mirror.Stats) int64 { return s.UpstreamBytes }),
		counter("registry_mirror_blob_fetches_total", "Blob downloads started from upstreams (one per blob however many clients wait).", func(s mirror.Stats) int64 { return s.Fetches }),
	)
}
