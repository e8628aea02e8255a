package alloc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/railnet/railnet/api/cniconf"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
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

// creates counts the Creates that reach the client.
type creates struct {
	client.Client
	n int
}

func (c *creates) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.n++
	return c.Client.Create(ctx, obj, opts...)
}

// A full pool's allocations are read through the pool index of a cache
// (PoolIndexed) or a label selector: the pool is known full without trying
// to record any of its addresses, and the refusal counts them.
func TestFullPoolCountsThroughTheIndex(t *testing.T) {
	pool := &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: "gpu1-net11"},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: "172.16.11.0/24", IPs: []string{"172.16.11.1-172.16.11.2"}}}
	objs := []client.Object{&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, pool}
	for i, ip := range []string{"172.16.11.1", "172.16.11.2"} {
		objs = append(objs, newAllocation(pool.Name, netip.MustParseAddr(ip),
			Request{PodNamespace: "train", PodName: fmt.Sprintf("other-%d", i), PodUID: fmt.Sprintf("uid-other-%d", i), IfName: "net1"}, "node-b"))
	}
	req := Request{Pools: cniconf.Pools{IPv4: []string{pool.Name}}, PodNamespace: "train", PodName: "worker-0", PodUID: "uid-1", IfName: "net1"}
	want := "no address for net1 of pod train/worker-0: SpiderIPPool gpu1-net11 has no free address: 2 of 2 in use; free addresses (delete unused pods or widen spec.ips) or name another pool"
	for _, indexed := range []bool{true, false} {
		t.Run(fmt.Sprintf("indexed=%v", indexed), func(t *testing.T) {
			b := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...)
			if indexed {
				b = b.WithIndex(&railnetv1.IPAllocation{}, PoolField, IndexByPool)
			}
			c := &creates{Client: b.Build()}
			a := &Allocator{Node: "node-a", Reader: c, Writer: c, PoolIndexed: indexed}
			_, err := a.Allocate(context.Background(), req)
			var ex *ExhaustedError
			if !errors.As(err, &ex) || !ex.Full || err.Error() != want {
				t.Fatalf("error %v\nwant %q", err, want)
			}
			if c.n != 0 {
				t.Errorf("%d Creates tried on a pool its allocations show full", c.n)
			}
		})
	}
}
