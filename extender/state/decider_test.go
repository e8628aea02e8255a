package state

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/networks"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/state/statetest"
)

const gpu1 corev1.ResourceName = "spidernet.io/shared_cx5_gpu1"

// world has nodes n1 and n2 (each in its own block) with slots of gpu1 on
// rail eth1, whose pool hands out poolIPs.
func world(slots int64, poolIPs string) *statetest.MemStore {
	c := statetest.NewCluster([]int{1}, func(int) corev1.ResourceName { return gpu1 },
		func(int) *spiderv2beta1.SpiderIPPool { return statetest.Pool("gpu1-net11", "172.16.11.0/24", poolIPs) })
	for _, name := range []string{"n1", "n2"} {
		c.AddNode(name, slots, map[string]string{placement.DefaultTopology.BlockKey: "block-" + name})
	}
	return c.MemStore
}

func rdmaPod(name string, labels map[string]string) *corev1.Pod {
	return statetest.RDMAPod(name, labels, gpu1)
}

func newDecider(s Store, now *time.Time) *Decider {
	d := NewDecider(s, time.Minute, 30*time.Second, placement.DefaultTopology)
	clock := func() time.Time { return *now }
	d.InFlight = NewInFlight(30*time.Second, clock)
	d.Options = func() placement.Options {
		o := placement.DefaultOptions(*now)
		o.Details = true
		return o
	}
	return d
}

func TestInFlightSlots(t *testing.T) {
	now := time.Now()
	s := world(1, "172.16.11.1-172.16.11.100")
	d := newDecider(s, &now)
	a, b := rdmaPod("a", nil), rdmaPod("b", nil)
	s.Pods = append(s.Pods, a, b)

	if res := d.Filter(a, []string{"n1"}); len(res.Passed) != 1 {
		t.Fatalf("a: %+v", res)
	}
	res := d.Filter(b, []string{"n1"})
	if want := "1 of 1 slots in use (0 by bound pods, 1 by pods being scheduled)"; res.Failed["n1"] == "" || !strings.Contains(res.Details["n1"], want) {
		t.Fatalf("b on n1 while a is in flight: %+v, want FailedNodes reason containing %q", res, want)
	}
	a.Spec.NodeName = "n1" // the cache sees a bound
	res = d.Filter(b, []string{"n1", "n2"})
	if want := "1 of 1 slots in use (1 by bound pods, 0 by pods being scheduled)"; res.Failed["n1"] == "" || !strings.Contains(res.Details["n1"], want) {
		t.Fatalf("b on n1 after a is bound: %+v, want %q", res, want)
	}
	if len(res.Passed) != 1 || res.Passed[0] != "n2" {
		t.Fatalf("b should pass n2: %+v", res)
	}
	// b passed n2 alone: it is in flight there until TTL.
	if d.InFlight.Len() != 2 {
		t.Fatalf("in flight %d, want 2 (a for its address, b)", d.InFlight.Len())
	}
	now = now.Add(31 * time.Second)
	c := rdmaPod("c", nil)
	s.Pods = append(s.Pods, c)
	if res := d.Filter(c, []string{"n2"}); len(res.Passed) != 1 {
		t.Fatalf("after the TTL b no longer holds n2's slot: %+v", res)
	}
}

func TestInFlightPoolAddresses(t *testing.T) {
	now := time.Now()
	s := world(100, "172.16.11.1-172.16.11.2")
	d := newDecider(s, &now)
	a, b, c := rdmaPod("a", nil), rdmaPod("b", nil), rdmaPod("c", nil)
	s.Pods = append(s.Pods, a, b, c)
	for _, p := range []*corev1.Pod{a, b} {
		if res := d.Filter(p, []string{"n1"}); len(res.Passed) != 1 {
			t.Fatalf("%s: %+v", p.Name, res)
		}
	}
	res := d.Filter(c, []string{"n1", "n2"})
	want := "rail spiderpool/gpu1-macvlan: no address for this node: SpiderIPPool gpu1-net11 has no free address (2 usable, 0 allocated, 2 promised to pods being scheduled)"
	if !strings.Contains(res.Unresolvable["n1"], want) || !strings.Contains(res.Unresolvable["n2"], "no free address") {
		t.Fatalf("c: %+v, want %q", res, want)
	}
	// a is bound and holds its address: counted once, as an allocation.
	a.Spec.NodeName = "n1"
	s.Allocs = append(s.Allocs, &railnetv1.IPAllocation{ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: railnetv1.IPAllocationSpec{Pool: "gpu1-net11", IP: "172.16.11.1", PodUID: string(a.UID)}})
	res = d.Filter(c, []string{"n1"})
	if want := "(2 usable, 1 allocated, 1 promised to pods being scheduled)"; !strings.Contains(res.Unresolvable["n1"], want) {
		t.Fatalf("c: %+v, want %q", res, want)
	}
	// b is deleted: its promise goes.
	s.Pods = []*corev1.Pod{a, c}
	if res := d.Filter(c, []string{"n1"}); len(res.Passed) != 1 {
		t.Fatalf("c after b is gone: %+v", res)
	}
}

func TestDeciderPodLevelAnswers(t *testing.T) {
	now := time.Now()
	s := world(10, "172.16.11.1-172.16.11.100")
	d := newDecider(s, &now)
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "web"}}
	if res := d.Filter(plain, []string{"n1", "ghost"}); len(res.Passed) != 2 {
		t.Fatalf("pod without rails: %+v", res)
	}
	if sc := d.Prioritize(plain, []string{"n1", "ghost"}); len(sc) != 2 || sc[0].Score != 0 || sc[1].Score != 0 {
		t.Fatalf("pod without rails scores %+v", sc)
	}
	bad := rdmaPod("bad", nil)
	bad.Annotations[spiderv2beta1.AnnotationRDMAResourceInject] = "nope"
	res := d.Filter(bad, []string{"n1", "n2"})
	want := `pod train/bad asks for inject group "nope"`
	if len(res.Passed) != 0 || !strings.Contains(res.Unresolvable["n1"], want) || !strings.Contains(res.Unresolvable["n2"], want) {
		t.Fatalf("pod with unknown group: %+v", res)
	}
	res = d.Filter(rdmaPod("p", nil), []string{"n1", "ghost"})
	if !strings.Contains(res.Unresolvable["ghost"], "this node is unknown to the railnet extender") {
		t.Fatalf("unknown node: %+v", res)
	}
}

func TestPrioritizeJobLocality(t *testing.T) {
	now := time.Now()
	s := world(10, "172.16.11.1-172.16.11.100")
	d := newDecider(s, &now)
	job := map[string]string{"railnet.io/job": "llama"}
	first := rdmaPod("w0", job)
	first.Spec.NodeName = "n2"
	second := rdmaPod("w1", job)
	s.Pods = append(s.Pods, first, second)
	sc := d.Prioritize(second, []string{"n1", "n2"})
	if sc[1].Score <= sc[0].Score {
		t.Fatalf("n2 holds the job's other pod, should score higher: %+v", sc)
	}
	if sc[1].Score-sc[0].Score < 6 {
		t.Fatalf("same block should add 6 points: %+v", sc)
	}
	// Without a job the only difference left is packing.
	fresh := world(10, "172.16.11.1-172.16.11.100")
	loner := rdmaPod("loner", nil)
	fresh.Pods = append(fresh.Pods, loner)
	sc = newDecider(fresh, &now).Prioritize(loner, []string{"n1", "n2"})
	if sc[0].Score != sc[1].Score {
		t.Fatalf("pod without job: equal nodes should score equally %+v", sc)
	}
}

// A network that names no pool cannot give its interface an address: the
// IPAM serves only the pools a config names, so the extender does not fall
// back to spec.default pools either, and says what to fix — for a pod that
// names the network, in its own words; for a pod of an inject group, in the
// webhook's (the rulebook's: such a member is unusable).
func TestPoollessNetworkFitsNoNode(t *testing.T) {
	now := time.Now()
	s := world(10, "172.16.11.1-172.16.11.100")
	s.SMCs[0].Spec.Macvlan.IPPools = nil
	yes := true
	s.Pools["default-v4"] = &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: "default-v4"},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: "10.9.0.0/24", IPs: []string{"10.9.0.1"}, Default: &yes}}
	grouped := rdmaPod("p", nil)
	named := rdmaPod("q", nil)
	named.Annotations = map[string]string{networks.Annotation: "spiderpool/gpu1-macvlan"}
	s.Pods = append(s.Pods, grouped, named)
	for _, tt := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{named, "pod train/q: SpiderMultusConfig spiderpool/gpu1-macvlan names no SpiderIPPool, so its interface cannot get an address (railnet does not fall back to spec.default pools); set spec.macvlan.ippools.ipv4 or .ipv6 in it"},
		{grouped, `pod train/p asks for inject group "gpu-macvlan" (annotation cni.spidernet.io/rdma-resource-inject), which cannot be injected: SpiderMultusConfig spiderpool/gpu1-macvlan has no IP pool (set spec.macvlan.ippools.ipv4 or .ipv6); fix these SpiderMultusConfigs or remove them from the group`},
	} {
		res := newDecider(s, &now).Filter(tt.pod, []string{"n1"})
		if len(res.Passed) != 0 || res.Unresolvable["n1"] != tt.want {
			t.Errorf("%+v, want n1 unresolvable: %q", res, tt.want)
		}
	}
}

// Prioritize reuses the node states of the filter request before it only
// for the same pod and exactly the nodes that request passed.
func TestPrioritizeReusesFilteredNodes(t *testing.T) {
	now := time.Now()
	s := world(10, "172.16.11.1-172.16.11.100")
	d := newDecider(s, &now)
	a, b := rdmaPod("a", nil), rdmaPod("b", nil)
	s.Pods = append(s.Pods, a, b)
	res := d.Filter(a, []string{"n1", "ghost", "n2"})
	if want := []string{"n1", "n2"}; !slices.Equal(res.Passed, want) {
		t.Fatalf("passed %v, want %v", res.Passed, want)
	}
	if got, ok := d.takePassed(b.UID, res.Passed); ok {
		t.Fatalf("another pod took a's nodes: %+v", got)
	}
	d.Filter(a, []string{"n1", "ghost", "n2"})
	if got, ok := d.takePassed(a.UID, []string{"n2", "n1"}); ok {
		t.Fatalf("nodes in another order were reused: %+v", got)
	}
	d.Filter(a, []string{"n1", "ghost", "n2"})
	last, ok := d.takePassed(a.UID, []string{"n1", "n2"})
	got := last.nodes
	if !ok || len(got) != 2 || got[0].Name != "n1" || got[1].Name != "n2" || got[0].Facts == nil || got[1].Facts == nil {
		t.Fatalf("kept %+v", got)
	}
	if again, ok := d.takePassed(a.UID, []string{"n1", "n2"}); ok {
		t.Fatalf("kept nodes were handed out twice: %+v", again)
	}
	// A stranger's prioritize request still gets every node it names.
	if sc := d.Prioritize(b, []string{"n2", "ghost", "n1"}); len(sc) != 3 || sc[0].Host != "n2" || sc[1].Score != 0 {
		t.Fatalf("scores %+v", sc)
	}
}
