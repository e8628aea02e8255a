package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestIPAMMetrics(t *testing.T) {
	m := NewIPAM("node-a")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	m.Allocated("gpu1-net11")
	m.Allocated("gpu1-net11")
	m.Released("gpu1-net11", ReleasedByCNI)
	m.Released("gpu1-net11", ReleasedByGC)
	m.Failed(FailureExhausted)
	m.SetPools([]PoolUse{{Pool: "gpu2-net12", Capacity: 200, Used: 200}, {Pool: "gpu1-net11", Capacity: 200, Used: 1}})
	want := `
# HELP railnet_ipam_allocations_total Addresses this node's IPAM allocated, by SpiderIPPool.
# TYPE railnet_ipam_allocations_total counter
railnet_ipam_allocations_total{node="node-a",pool="gpu1-net11"} 2
# HELP railnet_ipam_releases_total Addresses this node's IPAM released, by SpiderIPPool and by whom (cni: the sandbox's CNI DEL; gc: the collector of gone pods).
# TYPE railnet_ipam_releases_total counter
railnet_ipam_releases_total{node="node-a",pool="gpu1-net11",source="cni"} 1
railnet_ipam_releases_total{node="node-a",pool="gpu1-net11",source="gc"} 1
# HELP railnet_ipam_allocation_failures_total Allocations this node's IPAM refused, by reason (bad_request, no_pool, exhausted, no_usable_pool, api_error).
# TYPE railnet_ipam_allocation_failures_total counter
railnet_ipam_allocation_failures_total{node="node-a",reason="api_error"} 0
railnet_ipam_allocation_failures_total{node="node-a",reason="bad_request"} 0
railnet_ipam_allocation_failures_total{node="node-a",reason="exhausted"} 1
railnet_ipam_allocation_failures_total{node="node-a",reason="no_pool"} 0
railnet_ipam_allocation_failures_total{node="node-a",reason="no_usable_pool"} 0
# HELP railnet_ipam_pool_free_addresses Addresses of a SpiderIPPool still free; exported by the agent keeping the pools' counters.
# TYPE railnet_ipam_pool_free_addresses gauge
railnet_ipam_pool_free_addresses{node="node-a",pool="gpu1-net11"} 199
railnet_ipam_pool_free_addresses{node="node-a",pool="gpu2-net12"} 0
`
	names := []string{"railnet_ipam_allocations_total", "railnet_ipam_releases_total",
		"railnet_ipam_allocation_failures_total", "railnet_ipam_pool_free_addresses"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	// An agent that stops keeping the counters stops exporting the pools.
	m.SetPools(nil)
	if n := testutil.CollectAndCount(m, "railnet_ipam_pool_capacity_addresses"); n != 0 {
		t.Errorf("%d pool series after SetPools(nil), want 0", n)
	}
}

// 5,000 pool names make MaxPools+1 series at most.
func TestIPAMPoolLabelBounded(t *testing.T) {
	m := NewIPAM("node-a")
	var pools []PoolUse
	for i := range 5000 {
		name := fmt.Sprintf("pool-%d", i)
		m.Allocated(name)
		pools = append(pools, PoolUse{Pool: name, Capacity: 10})
	}
	m.SetPools(pools)
	if n := testutil.CollectAndCount(m, "railnet_ipam_allocations_total"); n != MaxPools+1 {
		t.Errorf("%d allocation series for 5,000 pools, want %d", n, MaxPools+1)
	}
	if n := testutil.CollectAndCount(m, "railnet_ipam_pool_capacity_addresses"); n != MaxPools {
		t.Errorf("%d capacity series for 5,000 pools, want %d", n, MaxPools)
	}
}

func TestIPAMNilRecordsNothing(t *testing.T) {
	var m *IPAM
	m.Allocated("p")
	m.Released("p", ReleasedByCNI)
	m.Failed(FailureAPI)
	m.SetPools([]PoolUse{{Pool: "p"}})
}
