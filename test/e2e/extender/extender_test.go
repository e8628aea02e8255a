package extender

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1alpha1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
)

// Pods land only on the node whose rail is up, that has an RDMANode, and
// that the rail's pool serves; once the pool is out of addresses the next
// pod stays Pending with the extender's reason.
func TestPodsLandWhereRailsAreUpAndPoolsHaveRoom(t *testing.T) {
	// Two usable addresses (.1 and .2); .1 is already held by another pod.
	r := newRig(t, "e2e-rails", resources[0], []string{"172.16.11.1-172.16.11.2"}, func(p *spiderv2beta1.SpiderIPPool) {
		p.Spec.NodeAffinity = &metav1.LabelSelector{MatchLabels: map[string]string{"e2e-pool": "gpu1"}}
	})
	inPool := map[string]string{"e2e-pool": "gpu1"}
	r.node("rails-ok", inPool, nil)
	r.node("rails-link-down", inPool, func(n *railnetv1alpha1.NIC) { n.LinkState = "down" })
	r.node("rails-port-down", inPool, func(n *railnetv1alpha1.NIC) { n.PortState = "DOWN" })
	r.node("rails-no-pool", nil, nil)
	r.node("rails-other-nic", inPool, func(n *railnetv1alpha1.NIC) { n.Netdev = "eth9" })
	r.allocate("172.16.11.1", "someone-else", "uid-someone-else", "rails-ok")

	first := r.pod("first", nil)
	if got := r.waitBound(first); got != "rails-ok" {
		t.Fatalf("first pod bound to %s, want rails-ok (the only node with its rail up, its NIC present and the pool serving it)", got)
	}
	// The IPAM takes .2 for it when its sandbox comes up.
	r.allocate("172.16.11.2", first.Name, string(first.UID), "rails-ok")
	second := r.pod("second", nil)
	msg := r.waitUnschedulable(second, "SpiderIPPool e2e-rails-net11 has no free address")
	for _, want := range []string{
		"rail e2e-rails/gpu1-macvlan: NIC eth1 on node rails-link-down is down (link down, RDMA mlx5_1 port 1 ACTIVE)",
		"rail e2e-rails/gpu1-macvlan: NIC eth1 on node rails-port-down is down (link up, RDMA mlx5_1 port 1 DOWN)",
		"SpiderIPPool e2e-rails-net11 serves only nodes matching e2e-pool=gpu1 (spec.nodeAffinity), not rails-no-pool",
		"rail e2e-rails/gpu1-macvlan: NIC eth1 not found on node rails-other-nic (RDMANode lists eth9)",
		"SpiderIPPool e2e-rails-net11 has no free address (2 usable, ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("second pod's PodScheduled message lacks %q:\n%s", want, msg)
		}
	}
	r.waitEvent(second, "SpiderIPPool e2e-rails-net11 has no free address")
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
	r.setNIC(on, func(n *railnetv1alpha1.NIC) { n.LinkState = "down" })

	// The IPAM takes .2 for it when its sandbox comes up.
	r.allocate("172.16.11.2", first.Name, string(first.UID), "rails-ok")
	second := r.pod("second", nil)
	if got := r.waitBound(second); got != other {
		t.Fatalf("second pod bound to %s after the rail of %s went down, want %s", got, on, other)
	}
	r.setNIC(other, func(n *railnetv1alpha1.NIC) { n.PortState = "DOWN" })
	third := r.pod("third", nil)
	want := "rail e2e-down/gpu1-macvlan: NIC eth1 on node " + other + " is down (link up, RDMA mlx5_1 port 1 DOWN); bring the link up or drain the node"
	ev := r.waitEvent(third, want)
	if !strings.Contains(ev, "rail e2e-down/gpu1-macvlan: NIC eth1 on node "+on+" is down (link down") {
		t.Fatalf("event does not name the other down node %s: %s", on, ev)
	}
	// The rail comes back: the Node label change requeues the pod.
	r.setNIC(on, func(n *railnetv1alpha1.NIC) { n.LinkState = "up" })
	if got := r.waitBound(third); got != on {
		t.Fatalf("third pod bound to %s once %s's rail came back, want %s", got, on, on)
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
		dist := railnetv1alpha1.DistancePIX
		if b == home {
			dist = railnetv1alpha1.DistanceSYS // the job's block is worse on GPU affinity
		}
		r.setNIC(name, func(n *railnetv1alpha1.NIC) { n.GPUDistance = dist })
	}
	for _, name := range []string{"worker-1", "worker-2"} {
		p := r.pod(name, job)
		if got := blockOf[r.waitBound(p)]; got != home {
			t.Fatalf("%s landed in block %s, want the job's block %s", name, got, home)
		}
	}
}

// A pod that names only an inject group (as users write it before the
// webhook fills in the networks) gets its rails from the SpiderMultusConfigs
// of that group, read through the extender's cache index; a group no config
// carries leaves the pod Pending with a reason naming the group.
func TestInjectGroup(t *testing.T) {
	r := newRig(t, "e2e-group", resources[3], []string{"172.16.11.1-172.16.11.100"}, nil)
	r.node("group-up", nil, nil)
	r.node("group-down", nil, func(n *railnetv1alpha1.NIC) { n.LinkState = "down" })

	grouped := func(name, group string) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: name,
				Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: group}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "rdma-tools",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{r.resource: resource.MustParse("1")}}}}},
		}
		create(t, p)
		return p
	}
	if got := r.waitBound(grouped("in-group", "all-e2e-group")); got != "group-up" {
		t.Fatalf("pod of group all-e2e-group bound to %s, want group-up", got)
	}
	lost := grouped("no-group", "nope")
	r.waitEvent(lost, `pod e2e-group/no-group asks for inject group "nope" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope; create one or fix the pod's annotation`)
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
