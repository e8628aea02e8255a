package ipam_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/cniconf"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/nodeagent/ipam/alloc"
	"github.com/railnet/railnet/nodeagent/ipam/collect"
	"github.com/railnet/railnet/nodeagent/ipam/poolstatus"
	"github.com/railnet/railnet/nodeagent/metrics"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// 2,000 requests from 20 agents on one 256-address pool: exactly 256
// succeed, every other one gets the exhaustion error, no address twice.
func TestConcurrentAgentsNeverDuplicate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const agents, perAgent, workers = 20, 100, 4
	pool := createPool(ctx, t, "burst", "10.20.0.0/24", []string{"10.20.0.0-10.20.0.255"}, "")
	var allocators []*alloc.Allocator
	m := metrics.NewIPAM("burst") // shared: the counts of all 20 agents
	for i := range agents {
		node := fmt.Sprintf("burst-node-%02d", i)
		cluster.CreateNode(t, ground.NodeSpec{Name: node})
		allocators = append(allocators, &alloc.Allocator{Node: node, Reader: cluster.Client, Writer: cluster.Client, Metrics: m})
	}

	type outcome struct {
		ip  string
		err error
	}
	results := make(chan outcome, agents*perAgent)
	var wg sync.WaitGroup
	for i, a := range allocators {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < perAgent; j += workers {
					addrs, err := a.Allocate(ctx, alloc.Request{
						Pools:        cniconf.Pools{IPv4: []string{pool.Name}},
						PodNamespace: "burst", PodName: fmt.Sprintf("p-%d-%d", i, j),
						PodUID: fmt.Sprintf("uid-%d-%d", i, j), ContainerID: "c", IfName: "net1",
					})
					if err != nil {
						results <- outcome{err: err}
						continue
					}
					results <- outcome{ip: addrs[0].IP.Addr().String()}
				}
			}()
		}
	}
	wg.Wait()
	close(results)

	seen := map[string]bool{}
	var ok, exhausted int
	for r := range results {
		var ex *alloc.ExhaustedError
		switch {
		case r.err == nil:
			if seen[r.ip] {
				t.Errorf("address %s was handed out twice", r.ip)
			}
			seen[r.ip] = true
			ok++
		case errors.As(r.err, &ex):
			exhausted++
			if !strings.Contains(r.err.Error(), "SpiderIPPool burst has no free address: 256 of 256 in use") {
				t.Errorf("exhaustion error does not name the pool, its size and use: %v", r.err)
			}
		default:
			t.Errorf("unexpected error: %v", r.err)
		}
	}
	if ok != 256 || exhausted != agents*perAgent-256 {
		t.Fatalf("%d allocations succeeded and %d were refused as exhausted; want 256 and %d", ok, exhausted, agents*perAgent-256)
	}
	var list railnetv1.IPAllocationList
	if err := cluster.Client.List(ctx, &list, client.MatchingLabels{railnetv1.LabelPool: pool.Name}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 256 {
		t.Fatalf("the API server holds %d IPAllocations of the pool, want 256", len(list.Items))
	}

	// The pool's counters follow.
	ps := &poolstatus.Reconciler{Client: cluster.Client, Metrics: m}
	if err := ps.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(pool), pool); err != nil {
		t.Fatal(err)
	}
	if *pool.Status.TotalIPCount != 256 || *pool.Status.AllocatedIPCount != 256 {
		t.Fatalf("pool status total=%d allocated=%d, want 256/256", *pool.Status.TotalIPCount, *pool.Status.AllocatedIPCount)
	}
	// The metrics say the same: 256 allocations, the rest refused as
	// exhausted, the pool full.
	want := fmt.Sprintf(`
# HELP railnet_ipam_allocations_total Addresses this node's IPAM allocated, by SpiderIPPool.
# TYPE railnet_ipam_allocations_total counter
railnet_ipam_allocations_total{node="burst",pool="burst"} 256
# HELP railnet_ipam_allocation_failures_total Allocations this node's IPAM refused, by reason (bad_request, no_pool, exhausted, no_usable_pool, api_error).
# TYPE railnet_ipam_allocation_failures_total counter
railnet_ipam_allocation_failures_total{node="burst",reason="api_error"} 0
railnet_ipam_allocation_failures_total{node="burst",reason="bad_request"} 0
railnet_ipam_allocation_failures_total{node="burst",reason="exhausted"} %d
railnet_ipam_allocation_failures_total{node="burst",reason="no_pool"} 0
railnet_ipam_allocation_failures_total{node="burst",reason="no_usable_pool"} 0
`, agents*perAgent-256)
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "railnet_ipam_allocations_total", "railnet_ipam_allocation_failures_total"); err != nil {
		t.Error(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "pool" && l.GetValue() == pool.Name && strings.HasPrefix(f.GetName(), "railnet_ipam_pool_") {
					got[f.GetName()] = mt.GetGauge().GetValue()
				}
			}
		}
	}
	if want := map[string]float64{"railnet_ipam_pool_capacity_addresses": 256, "railnet_ipam_pool_used_addresses": 256,
		"railnet_ipam_pool_free_addresses": 0}; !maps.Equal(got, want) {
		t.Errorf("pool metrics of %s: %v, want %v", pool.Name, got, want)
	}
}

// A retried ADD gets the same address; a recreated sandbox keeps it; a DEL of
// the old sandbox does not take it away from the new one; DEL releases.
func TestRetryReuseAndRelease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := createPool(ctx, t, "gpu1-net11", "172.16.11.0/24", []string{"172.16.11.1-172.16.11.200"}, "172.16.11.254")
	cluster.CreateNode(t, ground.NodeSpec{Name: "worker1"})
	a := &alloc.Allocator{Node: "worker1", Reader: cluster.Client, Writer: cluster.Client}
	req := alloc.Request{Pools: cniconf.Pools{IPv4: []string{pool.Name}},
		PodNamespace: "train", PodName: "trainer-0", PodUID: "uid-retry", ContainerID: "sandbox-1", IfName: "net1"}

	first, err := a.Allocate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first[0].IP.Bits() != 24 || first[0].Gateway.String() != "172.16.11.254" || first[0].Pool != "gpu1-net11" {
		t.Fatalf("address = %+v, want a /24 with the pool's gateway", first[0])
	}
	again, err := a.Allocate(ctx, req)
	if err != nil || again[0].IP != first[0].IP {
		t.Fatalf("a retried ADD got %v (%v), want %s", again, err, first[0].IP)
	}
	req.ContainerID = "sandbox-2"
	moved, err := a.Allocate(ctx, req)
	if err != nil || moved[0].IP != first[0].IP {
		t.Fatalf("a recreated sandbox got %v (%v), want %s", moved, err, first[0].IP)
	}
	if err := a.Release(ctx, req.PodUID, "sandbox-1", "net1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(ctx, req.PodUID, "net1", []netip.Addr{first[0].IP.Addr()}); err != nil {
		t.Fatalf("the old sandbox's DEL took the new sandbox's address: %v", err)
	}
	if err := a.Release(ctx, req.PodUID, "sandbox-2", "net1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, req.PodUID, "sandbox-2", "net1"); err != nil {
		t.Fatalf("a second DEL failed: %v", err)
	}
	err = a.Check(ctx, req.PodUID, "net1", []netip.Addr{first[0].IP.Addr()})
	if err == nil || !strings.Contains(err.Error(), "is no longer allocated to it") {
		t.Fatalf("CHECK after DEL: %v", err)
	}
}

// A pool that does not serve the node, or does not exist, is named in the
// refusal.
func TestRefusalsNameThePools(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := createPool(ctx, t, "rack-b-only", "172.16.20.0/24", []string{"172.16.20.1-172.16.20.9"}, "")
	pool.Spec.NodeName = []string{"worker9"}
	if err := cluster.Client.Update(ctx, pool); err != nil {
		t.Fatal(err)
	}
	cluster.CreateNode(t, ground.NodeSpec{Name: "worker2"})
	a := &alloc.Allocator{Node: "worker2", Reader: cluster.Client, Writer: cluster.Client}
	_, err := a.Allocate(ctx, alloc.Request{Pools: cniconf.Pools{IPv4: []string{"rack-b-only", "missing-pool"}},
		PodNamespace: "train", PodName: "trainer-1", PodUID: "uid-refused", IfName: "net2"})
	want := "no address for net2 of pod train/trainer-1: SpiderIPPool rack-b-only serves only nodes [worker9] (spec.nodeName), not worker2; SpiderIPPool missing-pool does not exist"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v\nwant it to contain %q", err, want)
	}
}

// An agent that died between recording an address and answering leaves an
// allocation nobody will DEL; once the pod is gone the collector frees it.
func TestGarbageCollectionLeavesNoLeak(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := createPool(ctx, t, "gc-pool", "172.16.30.0/24", []string{"172.16.30.1-172.16.30.50"}, "")
	cluster.CreateNode(t, ground.NodeSpec{Name: "worker3"})
	cluster.EnsureNamespace(t, "gc")
	a := &alloc.Allocator{Node: "worker3", Reader: cluster.Client, Writer: cluster.Client}

	var pods []*corev1.Pod
	for i := range 3 {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("gc-%d", i), Namespace: "gc"},
			Spec: corev1.PodSpec{NodeName: "worker3", Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		if err := cluster.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		pods = append(pods, pod)
		if _, err := a.Allocate(ctx, alloc.Request{Pools: cniconf.Pools{IPv4: []string{pool.Name}},
			PodNamespace: "gc", PodName: pod.Name, PodUID: string(pod.UID), ContainerID: "c1", IfName: "net1"}); err != nil {
			t.Fatal(err)
		}
	}
	// pod 0 is deleted; pod 1 is replaced by a pod of the same name; pod 2 lives.
	zero := int64(0)
	for _, p := range pods[:2] {
		if err := cluster.Client.Delete(ctx, p, &client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
	}
	waitGone(ctx, t, pods[1])
	replacement := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gc-1", Namespace: "gc"},
		Spec: corev1.PodSpec{NodeName: "worker3", Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	if err := cluster.Client.Create(ctx, replacement); err != nil {
		t.Fatal(err)
	}

	gc := &collect.Collector{Node: "worker3", Reader: cluster.Client, Writer: cluster.Client, Grace: time.Hour}
	if released, err := gc.Collect(ctx); err != nil || len(released) != 0 {
		t.Fatalf("within the grace period the collector released %v (%v)", released, err)
	}
	gc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	released, err := gc.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(released) != 2 {
		t.Fatalf("collector released %v, want the allocations of the deleted and the replaced pod", released)
	}
	var left railnetv1.IPAllocationList
	if err := cluster.Client.List(ctx, &left, client.MatchingLabels{railnetv1.LabelPool: pool.Name}); err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 1 || left.Items[0].Spec.PodUID != string(pods[2].UID) {
		t.Fatalf("after GC the pool holds %d allocations, want only the living pod's", len(left.Items))
	}
}

func waitGone(ctx context.Context, t *testing.T, p *corev1.Pod) {
	t.Helper()
	poll.Until(t, time.Minute, "pod "+p.Namespace+"/"+p.Name+" deleted", func() error {
		err := cluster.Client.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, &corev1.Pod{})
		if err != nil && client.IgnoreNotFound(err) == nil {
			return nil
		}
		return fmt.Errorf("get: %v", err)
	})
}

func createPool(ctx context.Context, t testing.TB, name, subnet string, ips []string, gateway string) *spiderv2beta1.SpiderIPPool {
	t.Helper()
	pool := &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: subnet, IPs: ips}}
	if gateway != "" {
		pool.Spec.Gateway = &gateway
	}
	if err := cluster.Client.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.DeleteAllOf(context.Background(), &railnetv1.IPAllocation{}, client.MatchingLabels{railnetv1.LabelPool: name})
		_ = cluster.Client.Delete(context.Background(), pool)
	})
	return pool
}

// Two pools that share addresses (a /24 and a /16 over the same range, made
// while no webhook checked them): each address still goes to one interface
// only, because an IPAllocation is named after its address alone.
func TestOverlappingPoolsNeverShareAnAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	narrow := createPool(ctx, t, "shared-24", "10.21.0.0/24", []string{"10.21.0.1-10.21.0.4"}, "")
	wide := createPool(ctx, t, "shared-16", "10.21.0.0/16", []string{"10.21.0.1-10.21.0.8"}, "")
	cluster.CreateNode(t, ground.NodeSpec{Name: "overlap-node"})
	a := &alloc.Allocator{Node: "overlap-node", Reader: cluster.Client, Writer: cluster.Client}
	seen := map[string]string{}
	allocate := func(pool string, i int) error {
		pod := fmt.Sprintf("%s-%d", pool, i)
		addrs, err := a.Allocate(ctx, alloc.Request{Pools: cniconf.Pools{IPv4: []string{pool}},
			PodNamespace: "overlap", PodName: pod, PodUID: "uid-" + pod, ContainerID: "c", IfName: "net1"})
		if err != nil {
			return err
		}
		ip := addrs[0].IP.Addr().String()
		if other, dup := seen[ip]; dup {
			t.Errorf("%s went to %s and to %s", ip, other, pod)
		}
		seen[ip] = pod
		return nil
	}
	for i := range 4 {
		if err := allocate(narrow.Name, i); err != nil {
			t.Fatal(err)
		}
	}
	var exhausted int
	for i := range 6 {
		err := allocate(wide.Name, i)
		var ex *alloc.ExhaustedError
		switch {
		case errors.As(err, &ex):
			exhausted++
		case err != nil:
			t.Fatal(err)
		}
	}
	if len(seen) != 8 || exhausted != 2 {
		t.Errorf("%d distinct addresses and %d exhausted requests, want 8 and 2 (the /16 pool has 4 addresses of its own)", len(seen), exhausted)
	}
	t.Cleanup(func() {
		_ = cluster.Client.DeleteAllOf(context.Background(), &railnetv1.IPAllocation{}, client.MatchingLabels{railnetv1.LabelNode: "overlap-node"})
	})
}

// A pool listed under the other family's ippools is refused by name: an
// IPv6 pool under ipv4 would give the interface two IPv6 addresses.
func TestPoolOfTheOtherFamilyIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createPool(ctx, t, "family-v6", "fd00:21::/64", []string{"fd00:21::10-fd00:21::20"}, "")
	createPool(ctx, t, "family-v4", "10.22.0.0/24", []string{"10.22.0.10-10.22.0.20"}, "")
	cluster.CreateNode(t, ground.NodeSpec{Name: "family-node"})
	a := &alloc.Allocator{Node: "family-node", Reader: cluster.Client, Writer: cluster.Client}
	for _, tc := range []struct {
		pools cniconf.Pools
		want  string
	}{
		{cniconf.Pools{IPv4: []string{"family-v6"}}, "SpiderIPPool family-v6 is an IPv6 pool (spec.subnet fd00:21::/64) but is listed under ippools.ipv4; list it under the other family"},
		{cniconf.Pools{IPv6: []string{"family-v4"}}, "SpiderIPPool family-v4 is an IPv4 pool (spec.subnet 10.22.0.0/24) but is listed under ippools.ipv6; list it under the other family"},
	} {
		_, err := a.Allocate(ctx, alloc.Request{Pools: tc.pools, PodNamespace: "fam", PodName: "p", PodUID: "uid-fam", IfName: "net1"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("pools %+v: error %v, want it to contain %q", tc.pools, err, tc.want)
		}
	}
	var list railnetv1.IPAllocationList
	if err := cluster.Client.List(ctx, &list, client.MatchingLabels{railnetv1.LabelNode: "family-node"}); err != nil || len(list.Items) != 0 {
		t.Errorf("%d addresses taken by refused requests (%v)", len(list.Items), err)
	}
}

// The cluster's collector (the leading agent's) frees what no node's own
// collector sees: the addresses of a deleted node, and of a force-deleted
// pod on a node whose agent is down. A living pod keeps its address.
func TestClusterCollectorFreesDeletedNodesAndPods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := createPool(ctx, t, "cluster-gc", "10.23.0.0/24", []string{"10.23.0.10-10.23.0.40"}, "")
	cluster.EnsureNamespace(t, "cgc")
	doomed := cluster.CreateNode(t, ground.NodeSpec{Name: "doomed"})
	cluster.CreateNode(t, ground.NodeSpec{Name: "survivor"})
	allocate := func(node, pod string) (*corev1.Pod, string) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "cgc"},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		if err := cluster.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		a := &alloc.Allocator{Node: node, Reader: cluster.Client, Writer: cluster.Client}
		addrs, err := a.Allocate(ctx, alloc.Request{Pools: cniconf.Pools{IPv4: []string{pool.Name}},
			PodNamespace: "cgc", PodName: pod, PodUID: string(p.UID), ContainerID: "c1", IfName: "net1"})
		if err != nil {
			t.Fatal(err)
		}
		return p, railnetv1.AllocationName(addrs[0].IP.Addr())
	}
	_, onDoomed := allocate("doomed", "on-doomed")
	forced, forcedAlloc := allocate("survivor", "force-deleted")
	_, living := allocate("survivor", "living")

	if err := cluster.Client.Delete(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	if err := cluster.Client.Delete(ctx, forced, &client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	waitGone(ctx, t, forced)

	gc := &collect.Collector{Reader: cluster.Client, Writer: cluster.Client, Grace: time.Hour}
	if _, err := gc.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	exists := func(name string) bool {
		err := cluster.Client.Get(ctx, client.ObjectKey{Name: name}, &railnetv1.IPAllocation{})
		return err == nil
	}
	if !exists(onDoomed) || !exists(forcedAlloc) {
		t.Fatal("the cluster's collector released addresses within the grace period")
	}
	gc.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := gc.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if exists(onDoomed) {
		t.Errorf("the deleted node's address %s is still held", onDoomed)
	}
	if exists(forcedAlloc) {
		t.Errorf("the force-deleted pod's address %s is still held", forcedAlloc)
	}
	if !exists(living) {
		t.Errorf("the living pod's address %s was released", living)
	}
}
