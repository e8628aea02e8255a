package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the service's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	injected *prometheus.CounterVec
	refused  *prometheus.CounterVec

	// groups bounds the inject-group label: its values come from pod
	// annotations, which anyone who creates pods writes.
	groups boundedValues
}

// Label values come from requests, so every label takes bounded values
// only: a forged kind or group must not create a series.
const (
	// OtherLabel stands for any value beyond the known or first ones.
	OtherLabel = "other"
	// MaxGroups is how many distinct inject groups get their own series.
	MaxGroups = 64
)

// knownKinds are the kinds the webhook is registered for.
var knownKinds = map[string]bool{"Pod": true, "SpiderIPPool": true, "SpiderMultusConfig": true, "": true}

// boundedValues admits the first max distinct values and maps later ones
// to OtherLabel.
type boundedValues struct {
	mu   sync.Mutex
	max  int
	seen map[string]bool
}

func (b *boundedValues) label(v string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen[v] {
		return v
	}
	if len(b.seen) >= b.max {
		return OtherLabel
	}
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	b.seen[v] = true
	return v
}

// New registers the collectors (and the Go/process collectors) on a new
// registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "railnet_webhook_requests_total",
			Help: "Admission requests by endpoint, kind and outcome (allowed, denied, error).",
		}, []string{"endpoint", "kind", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "railnet_webhook_request_duration_seconds",
			Help:    "Time to answer an admission request, by endpoint.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1},
		}, []string{"endpoint"}),
		injected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "railnet_webhook_injected_pods_total",
			Help: "Pods that got networks and RDMA resources injected, by inject group.",
		}, []string{"group"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "railnet_webhook_refusals_total",
			Help: "Refused admission requests by reason.",
		}, []string{"reason"}),
	}
	m.groups.max = MaxGroups
	m.Registry.MustRegister(m.requests, m.latency, m.injected, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Request records one answered request; a kind the webhook does not serve
// counts as "other".
func (m *Metrics) Request(endpoint, kind, outcome string, took time.Duration) {
	if !knownKinds[kind] {
		kind = OtherLabel
	}
	m.requests.WithLabelValues(endpoint, kind, outcome).Inc()
	m.latency.WithLabelValues(endpoint).Observe(took.Seconds())
}

// Injected counts one injected pod; past MaxGroups distinct groups, new
// ones count as "other".
func (m *Metrics) Injected(group string) { m.injected.WithLabelValues(m.groups.label(group)).Inc() }

// Refused counts one refusal.
func (m *Metrics) Refused(reason string) { m.refused.WithLabelValues(reason).Inc() }
