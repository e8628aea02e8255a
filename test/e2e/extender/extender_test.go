package extender

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
)

// Pods land only on the node whose rail is up, that has an RDMANode, and
// that the rail's pool serves; once the pool is out of addresses the next
// pod stays Pending with the extender's reason.
func TestPodsLandWhereRailsAreUpAndPoolsHaveRoom(t *testing.T) {
	podsLandWhereRailsAreUpAndPoolsHaveRoom(t, "e2e-rails", resources[0], "")
}

// podsLandWhereRailsAreUpAndPoolsHaveRoom is that test for the pods of
// namespace ns asking for resource, placed by scheduler (empty: the
// default scheduler, which calls the extender). Its nodes are named after
// ns without "e2e-".
func podsLandWhereRailsAreUpAndPoolsHaveRoom(t *testing.T, ns, resource, scheduler string) {
	// Two usable addresses (.1 and .2); .1 is already held by another pod.
	r := newRig(t, ns, resource, []string{"172.16.11.1-172.16.11.2"}, func(p *spiderv2beta1.SpiderIPPool) {
		p.Spec.NodeAffinity = &metav1.LabelSelector{MatchLabels: map[string]string{"e2e-pool": "gpu1"}}
	})
	r.scheduler = scheduler
	node := strings.TrimPrefix(ns, "e2e-") + "-"
	inPool := map[string]string{"e2e-pool": "gpu1"}
	r.node(node+"ok", inPool, nil)
	r.node(node+"link-down", inPool, func(n *railnetv1.NIC) { n.LinkState = "down" })
	r.node(node+"port-down", inPool, func(n *railnetv1.NIC) { n.PortState = "DOWN" })
	r.node(node+"no-pool", nil, nil)
	r.node(node+"other-nic", inPool, func(n *railnetv1.NIC) { n.Netdev = "eth9" })
	r.allocate("172.16.11.1", "someone-else", "uid-someone-else", node+"ok")

	first := r.pod("first", nil)
	if got := r.waitBound(first); got != node+"ok" {
		t.Fatalf("first pod bound to %s, want %sok (the only node with its rail up, its NIC present and the pool serving it)", got, node)
	}
	// The IPAM takes .2 for it when its sandbox comes up.
	r.allocate("172.16.11.2", first.Name, string(first.UID), node+"ok")
	second := r.pod("second", nil)
	full := "SpiderIPPool " + ns + "-net11 has no free address"
	msg := r.waitUnschedulable(second, full)
	for _, want := range []string{
		"1 rail " + ns + "/gpu1-macvlan: NIC eth1 is down on this node (link down); bring the link up or drain the node",
		"1 rail " + ns + "/gpu1-macvlan: NIC eth1 is down on this node (RDMA port DOWN); bring the link up or drain the node",
		"1 rail " + ns + "/gpu1-macvlan: no address for this node: SpiderIPPool " + ns + "-net11 serves only nodes matching e2e-pool=gpu1 (spec.nodeAffinity), not this one",
		"1 rail " + ns + "/gpu1-macvlan: NIC eth1 not found in this node's RDMANode",
		"1 rail " + ns + "/gpu1-macvlan: no address for this node: " + full + " (2 usable, ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("second pod's PodScheduled message lacks %q:\n%s", want, msg)
		}
	}
	r.waitEvent(second, full)
}

// A rail taken down on the node of the first pod (RDMANode status and Node
// label, as the agent writes them) sends the next pod elsewhere; with the
// rail down everywhere the pod's FailedScheduling event carries the reason.
func TestRailDownSendsNextPodElsewhere(t *testing.T) {
	r := newRig(t, "e2e-down", resources[1], []string{"172.16.11.1-172.16.11.100"}, nil)
	r.node("down-a", nil, nil)
	r.node("down-b", nil, nil)

	first := r.pod("first", nil)
	on := r.waitBound(first)
	other := map[string]string{"down-a": "down-b", "down-b": "down-a"}[on]
	r.setNIC(on, func(n *railnetv1.NIC) { n.LinkState = "down" })

	// The IPAM takes .2 for it when its sandbox comes up.
	r.allocate("172.16.11.2", first.Name, string(first.UID), "rails-ok")
	second := r.pod("second", nil)
	if got := r.waitBound(second); got != other {
		t.Fatalf("second pod bound to %s after the rail of %s went down, want %s", got, on, other)
	}
	r.setNIC(other, func(n *railnetv1.NIC) { n.PortState = "DOWN" })
	third := r.pod("third", nil)
	want := "1 rail e2e-down/gpu1-macvlan: NIC eth1 is down on this node (RDMA port DOWN); bring the link up or drain the node"
	ev := r.waitEvent(third, want)
	if !strings.Contains(ev, "1 rail e2e-down/gpu1-macvlan: NIC eth1 is down on this node (link down); bring the link up or drain the node") {
		t.Fatalf("event does not count the other down node %s: %s", on, ev)
	}
	// The rail comes back: the Node label change requeues the pod.
	r.setNIC(on, func(n *railnetv1.NIC) { n.LinkState = "up" })
	if got := r.waitBound(third); got != on {
		t.Fatalf("third pod bound to %s once %s's rail came back, want %s", got, on, on)
	}
}

// Reasons do not name nodes, so the scheduler folds a refusal by hundreds
// of nodes into one line per cause with its count, well within the event's
// length limit.
func TestRefusalsFoldAcrossNodes(t *testing.T) {
	r := newRig(t, "e2e-fold", resources[4], []string{"172.16.11.1-172.16.11.100"}, nil)
	const perCause = 110
	err := parallel(2*perCause, 8, func(i int) error {
		name := fmt.Sprintf("fold-%03d", i)
		if i < perCause {
			r.node(name, nil, func(n *railnetv1.NIC) { n.LinkState = "down" })
		} else {
			r.node(name, nil, func(n *railnetv1.NIC) { n.PortState = "DOWN" })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := r.pod("lost", nil)
	ev := r.waitEvent(p, fmt.Sprintf("%d rail e2e-fold/gpu1-macvlan: NIC eth1 is down on this node (link down); bring the link up or drain the node", perCause))
	if want := fmt.Sprintf("%d rail e2e-fold/gpu1-macvlan: NIC eth1 is down on this node (RDMA port DOWN); bring the link up or drain the node", perCause); !strings.Contains(ev, want) {
		t.Fatalf("event lacks %q:\n%s", want, ev)
	}
	if strings.Contains(ev, "fold-") {
		t.Fatalf("event names a node: %s", ev)
	}
}

// Two more pods of a job follow the first one's block even when the other
// block's NICs are nearer their GPUs.
func TestJobStaysInOneBlock(t *testing.T) {
	r := newRig(t, "e2e-job", resources[2], []string{"172.16.11.1-172.16.11.100"}, nil)
	block := func(b string) map[string]string {
		return map[string]string{placement.DefaultTopology.BlockKey: b, placement.DefaultTopology.SpineKey: "s1"}
	}
	blockOf := map[string]string{"job-b1-n1": "b1", "job-b1-n2": "b1", "job-b2-n1": "b2", "job-b2-n2": "b2"}
	for name, b := range blockOf {
		r.node(name, block(b), nil)
	}
	job := map[string]string{"railnet.io/job": "llama"}
	first := r.pod("worker-0", job)
	home := blockOf[r.waitBound(first)]
	for name, b := range blockOf {
		dist := railnetv1.DistancePIX
		if b == home {
			dist = railnetv1.DistanceSYS // the job's block is worse on GPU affinity
		}
		r.setNIC(name, func(n *railnetv1.NIC) { n.GPUDistance = dist })
	}
	for _, name := range []string{"worker-1", "worker-2"} {
		p := r.pod(name, job)
		if got := blockOf[r.waitBound(p)]; got != home {
			t.Fatalf("%s landed in block %s, want the job's block %s", name, got, home)
		}
	}
}

// A pod that names only an inject group (as users write it before the
// webhook fills in the networks), on itself or through its namespace, gets
// its rails from the SpiderMultusConfigs of that group, read through the
// extender's cache index; a group no config carries leaves the pod Pending
// with the webhook's reason naming the group.
func TestInjectGroup(t *testing.T) {
	r := newRig(t, "e2e-group", resources[3], []string{"172.16.11.1-172.16.11.100"}, nil)
	r.node("group-up", nil, nil)
	r.node("group-down", nil, func(n *railnetv1.NIC) { n.LinkState = "down" })

	if got := r.waitBound(r.grouped("in-group", "all-e2e-group")); got != "group-up" {
		t.Fatalf("pod of group all-e2e-group bound to %s, want group-up", got)
	}
	lost := r.grouped("no-group", "nope")
	r.waitEvent(lost, `pod e2e-group/no-group asks for inject group "nope" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation`)

	// The namespace's group, for a pod that names none.
	r.annotateNamespace(map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "e2e-group"})
	for _, name := range []string{"ns-group-0", "ns-group-1"} {
		if got := r.waitBound(r.grouped(name, "")); got != "group-up" {
			t.Fatalf("pod %s of its namespace's group bound to %s, want group-up", name, got)
		}
	}
}

// The extender follows the webhook's podResourceInject configuration, live:
// in a namespace the webhook excludes, an inject annotation asks nothing of
// the nodes (the webhook injects nothing there), so even an unknown group
// does not make every node unresolvable; once the exclusion is lifted, it
// does, in the webhook's words.
func TestInjectConfigFollowed(t *testing.T) {
	r := newRig(t, excludedNamespace, resources[5], []string{"172.16.11.1-172.16.11.100"}, nil)
	r.node("excluded-a", nil, nil)
	r.waitBound(r.grouped("unknown-group", "nope"))

	setInjectConf(t, "podResourceInject: {enabled: true}")
	const refusal = `asks for inject group "nope" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation`
	waitFilter(t, r.ns, "nope", "excluded-a", refusal) // the extender has read the change
	p := r.grouped("now-refused", "nope")
	r.waitEvent(p, "pod e2e-excluded/now-refused "+refusal)

	setInjectConf(t, "podResourceInject: {enabled: false}")
	waitFilter(t, r.ns, "nope", "excluded-a", "")
	r.waitBound(r.grouped("injection-off", "nope"))
}

// A network that names no SpiderIPPool gets no address from the IPAM (there
// is no fallback to spec.default pools), so a pod on it fits no node, with a
// message naming the SpiderMultusConfig and what to set. The webhook refuses
// such configs; this one was changed where the webhook does not run.
func TestPoollessNetworkFitsNoNode(t *testing.T) {
	r := newRig(t, "e2e-poolless", resources[3], []string{"172.16.11.1-172.16.11.100"}, nil)
	r.node("poolless-a", nil, nil)
	ctx := ctxT(t, 30*time.Second)
	smc := &spiderv2beta1.SpiderMultusConfig{}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "gpu1-macvlan"}, smc); err != nil {
		t.Fatal(err)
	}
	smc.Spec.Macvlan.IPPools = nil
	if err := cluster.Client.Update(ctx, smc); err != nil {
		t.Fatal(err)
	}
	p := r.pod("on-poolless", nil)
	r.waitEvent(p, "pod e2e-poolless/on-poolless: SpiderMultusConfig e2e-poolless/gpu1-macvlan names no SpiderIPPool, so its interface cannot get an address (railnet does not fall back to spec.default pools); set spec.macvlan.ippools.ipv4 or .ipv6 in it")
}
