// Package metrics exposes the registry's Prometheus metrics: requests by
// route, method and status, their durations, bytes pushed and pulled, and
// what the store holds (from running totals: a scrape never walks the tree).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/api"
	"github.com/layerlab/layerlab/registry/storage"
)

// Metrics holds the collectors of one registry.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	pushed   prometheus.Counter
	pulled   prometheus.Counter
}

// pushRoutes and pullRoutes name the routes whose bodies are image bytes.
var (
	pushRoutes = map[api.Route]bool{api.RouteUploadStart: true, api.RouteUploadPatch: true, api.RouteUploadPut: true, api.RouteManifestPut: true}
	pullRoutes = map[api.Route]bool{api.RouteBlobGet: true, api.RouteManifestGet: true}
)

// New registers the registry's metrics, reading store totals on scrape.
func New(store *storage.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "registry_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "registry_http_request_duration_seconds", Help: "HTTP request durations by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method"}),
		pushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "registry_bytes_pushed_total", Help: "Bytes received in blob uploads and manifest pushes.",
		}),
		pulled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "registry_bytes_pulled_total", Help: "Bytes sent in blob and manifest pulls.",
		}),
	}
	gauge := func(name, help string, value func(storage.Stats) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(value(store.Stats())) })
	}
	m.reg.MustRegister(m.requests, m.duration, m.pushed, m.pulled,
		gauge("registry_uploads_in_progress", "Upload sessions open.", func(s storage.Stats) int64 { return s.Uploads }),
		gauge("registry_blobs", "Blobs stored (each once, whatever the repositories linking it).", func(s storage.Stats) int64 { return s.Blobs }),
		gauge("registry_storage_bytes", "Bytes of blobs on disk.", func(s storage.Stats) int64 { return s.BlobBytes }),
		gauge("registry_manifests", "Manifests stored, summed over repositories.", func(s storage.Stats) int64 { return s.Manifests }),
		gauge("registry_repositories", "Repositories holding at least one manifest.", func(s storage.Stats) int64 { return s.Repositories }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Observe records one finished request; it is the access-log middleware's hook.
func (m *Metrics) Observe(r *http.Request, rec *accesslog.Record, elapsed time.Duration) {
	route := rec.Route
	if route == "" {
		route = "other"
	}
	method := Method(r.Method)
	m.requests.WithLabelValues(route, method, status(rec.Status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
	if pushRoutes[api.Route(route)] {
		m.pushed.Add(float64(rec.BytesIn))
	}
	if pullRoutes[api.Route(route)] {
		m.pulled.Add(float64(rec.BytesOut))
	}
}

// Method is the label value for a request method: the method when it is
// one the registry knows, else "other". Every label comes from a closed
// set (routes by name, methods, status codes): a label value taken from
// the request as sent would let any client, before authentication, grow
// the metrics without bound.
func Method(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "other"
}

// status is the label value for a response status: the code when it is a
// valid HTTP status, else "other".
func status(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
