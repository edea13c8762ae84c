package metrics

import "github.com/prometheus/client_golang/prometheus"

// NameInstance exports which replica these metrics come from, as an info
// metric: registry_instance_info{registry_instance="r1"} 1. One series per
// process, its label set by the operator (--instance), never by a
// request; the other series keep their labels, and a query joins on this
// one (… * on(instance) group_left(registry_instance) registry_instance_info).
// The label is not "instance": Prometheus gives that name to the scrape
// target and would rename ours.
func (m *Metrics) NameInstance(name string) {
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "registry_instance_info", Help: "The replica these metrics come from (--instance); always 1.",
		ConstLabels: prometheus.Labels{"registry_instance": name},
	})
	info.Set(1)
	m.reg.MustRegister(info)
}
