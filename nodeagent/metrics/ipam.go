package metrics

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons an allocation fails, the values of the reason label of
// railnet_ipam_allocation_failures_total. The set is fixed: a reason never
// carries a pod, pool or node name.
const (
	// FailureBadRequest: the CNI plugin's request was malformed or lacked
	// the pod or interface.
	FailureBadRequest = "bad_request"
	// FailureNoPool: the network names no SpiderIPPool.
	FailureNoPool = "no_pool"
	// FailureExhausted: a pool the network names had no free address.
	FailureExhausted = "exhausted"
	// FailureNoUsablePool: every pool named is missing, of the other IP
	// family, or does not serve this node.
	FailureNoUsablePool = "no_usable_pool"
	// FailureAPI: the API server could not be read or written.
	FailureAPI = "api_error"
)

// FailureReasons are all values of the reason label.
var FailureReasons = []string{FailureBadRequest, FailureNoPool, FailureExhausted, FailureNoUsablePool, FailureAPI}

// Who releases an address: the source label of railnet_ipam_releases_total.
const (
	// ReleasedByCNI: the CNI DEL of the pod's sandbox.
	ReleasedByCNI = "cni"
	// ReleasedByGC: the garbage collector, for a pod that is gone.
	ReleasedByGC = "gc"
)

// MaxPools is how many distinct pools get their own series; later ones
// count as OtherPool. Pools are cluster objects that admins create, but a
// bound keeps a runaway script from flooding Prometheus.
const MaxPools = 256

// OtherPool is the pool label beyond MaxPools.
const OtherPool = "other"

// PoolUse is one SpiderIPPool's size and use.
type PoolUse struct {
	Pool     string
	Capacity int64 // usable addresses
	Used     int64 // allocated addresses
}

// IPAM are the node agent's IPAM metrics. Its methods may be called on a
// nil *IPAM, which records nothing.
type IPAM struct {
	allocations, releases, failures *prometheus.CounterVec
	capacity, used, free            *prometheus.Desc

	mu    sync.Mutex
	seen  map[string]bool // pool labels handed out
	pools []PoolUse
}

// NewIPAM returns the IPAM metrics of node; register it on the agent's
// registry.
func NewIPAM(node string) *IPAM {
	cl := prometheus.Labels{"node": node}
	m := &IPAM{
		allocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "railnet_ipam_allocations_total",
			Help: "Addresses this node's IPAM allocated, by SpiderIPPool.", ConstLabels: cl}, []string{"pool"}),
		releases: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "railnet_ipam_releases_total",
			Help:        "Addresses this node's IPAM released, by SpiderIPPool and by whom (cni: the sandbox's CNI DEL; gc: the collector of gone pods).",
			ConstLabels: cl}, []string{"pool", "source"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "railnet_ipam_allocation_failures_total",
			Help:        "Allocations this node's IPAM refused, by reason (bad_request, no_pool, exhausted, no_usable_pool, api_error).",
			ConstLabels: cl}, []string{"reason"}),
		capacity: prometheus.NewDesc("railnet_ipam_pool_capacity_addresses",
			"Usable addresses of a SpiderIPPool (spec.ips less excludeIPs and the gateway); exported by the agent keeping the pools' counters.",
			[]string{"pool"}, cl),
		used: prometheus.NewDesc("railnet_ipam_pool_used_addresses",
			"Allocated addresses of a SpiderIPPool (its IPAllocations); exported by the agent keeping the pools' counters.",
			[]string{"pool"}, cl),
		free: prometheus.NewDesc("railnet_ipam_pool_free_addresses",
			"Addresses of a SpiderIPPool still free; exported by the agent keeping the pools' counters.",
			[]string{"pool"}, cl),
		seen: map[string]bool{},
	}
	for _, r := range FailureReasons {
		m.failures.WithLabelValues(r) // every reason has a series from the start: rate() sees the first failure
	}
	return m
}

// pool bounds the pool label.
func (m *IPAM) pool(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[name] {
		return name
	}
	if len(m.seen) >= MaxPools {
		return OtherPool
	}
	m.seen[name] = true
	return name
}

// Allocated counts one new address of pool.
func (m *IPAM) Allocated(pool string) {
	if m != nil {
		m.allocations.WithLabelValues(m.pool(pool)).Inc()
	}
}

// Released counts one released address of pool; source is ReleasedByCNI or
// ReleasedByGC.
func (m *IPAM) Released(pool, source string) {
	if m != nil {
		m.releases.WithLabelValues(m.pool(pool), source).Inc()
	}
}

// Failed counts one refused allocation; reason is one of FailureReasons.
func (m *IPAM) Failed(reason string) {
	if m != nil {
		m.failures.WithLabelValues(reason).Inc()
	}
}

// SetPools replaces the pools' sizes and use; nil stops exporting them (this
// agent no longer keeps the counters).
func (m *IPAM) SetPools(pools []PoolUse) {
	if m == nil {
		return
	}
	pools = append([]PoolUse(nil), pools...)
	sort.Slice(pools, func(i, j int) bool { return pools[i].Pool < pools[j].Pool })
	if len(pools) > MaxPools {
		pools = pools[:MaxPools]
	}
	m.mu.Lock()
	m.pools = pools
	m.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (m *IPAM) Describe(ch chan<- *prometheus.Desc) {
	m.allocations.Describe(ch)
	m.releases.Describe(ch)
	m.failures.Describe(ch)
	ch <- m.capacity
	ch <- m.used
	ch <- m.free
}

// Collect implements prometheus.Collector.
func (m *IPAM) Collect(ch chan<- prometheus.Metric) {
	m.allocations.Collect(ch)
	m.releases.Collect(ch)
	m.failures.Collect(ch)
	m.mu.Lock()
	pools := m.pools
	m.mu.Unlock()
	for _, p := range pools {
		ch <- prometheus.MustNewConstMetric(m.capacity, prometheus.GaugeValue, float64(p.Capacity), p.Pool)
		ch <- prometheus.MustNewConstMetric(m.used, prometheus.GaugeValue, float64(p.Used), p.Pool)
		ch <- prometheus.MustNewConstMetric(m.free, prometheus.GaugeValue, float64(max(p.Capacity-p.Used, 0)), p.Pool)
	}
}
