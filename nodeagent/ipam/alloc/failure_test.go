package alloc

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/railnet/railnet/nodeagent/metrics"
)

func TestFailureReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errIncompleteRequest, metrics.FailureBadRequest},
		{&noPoolError{"pod a/b net1: the network names no SpiderIPPool"}, metrics.FailureNoPool},
		{&ExhaustedError{Reasons: []string{"SpiderIPPool p has no free address: 2 of 2 in use"}, Full: true}, metrics.FailureExhausted},
		{fmt.Errorf("wrapped: %w", &ExhaustedError{Reasons: []string{"SpiderIPPool p does not exist"}}), metrics.FailureNoUsablePool},
		{fmt.Errorf("read node n: connection refused"), metrics.FailureAPI},
	} {
		if got := FailureReason(tc.err); got != tc.want {
			t.Errorf("FailureReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// Requests refused before the API server is asked are counted by reason.
func TestAllocateCountsRefusals(t *testing.T) {
	m := metrics.NewIPAM("node-a")
	a := &Allocator{Node: "node-a", Metrics: m}
	if _, err := a.Allocate(context.Background(), Request{PodNamespace: "ns"}); err == nil {
		t.Fatal("an incomplete request was accepted")
	}
	if _, err := a.Allocate(context.Background(), Request{PodNamespace: "ns", PodName: "p", PodUID: "u", IfName: "net1"}); err == nil {
		t.Fatal("a request naming no pool was accepted")
	}
	want := `
# HELP railnet_ipam_allocation_failures_total Allocations this node's IPAM refused, by reason (bad_request, no_pool, exhausted, no_usable_pool, api_error).
# TYPE railnet_ipam_allocation_failures_total counter
railnet_ipam_allocation_failures_total{node="node-a",reason="api_error"} 0
railnet_ipam_allocation_failures_total{node="node-a",reason="bad_request"} 1
railnet_ipam_allocation_failures_total{node="node-a",reason="exhausted"} 0
railnet_ipam_allocation_failures_total{node="node-a",reason="no_pool"} 1
railnet_ipam_allocation_failures_total{node="node-a",reason="no_usable_pool"} 0
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "railnet_ipam_allocation_failures_total"); err != nil {
		t.Error(err)
	}
}
