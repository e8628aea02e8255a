package extender

import (
	"context"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"

	railnetv1alpha1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/plugin"
	"github.com/railnet/railnet/test/ground"
)

// startRailnetScheduler builds railnet-scheduler (kube-scheduler with the
// RailnetPlacement plugin) and runs it as scheduler name, with the same
// score weight as the extender and the extender's heartbeat TTL. pct nil:
// the cluster's percentage of nodes scored.
func startRailnetScheduler(ctx context.Context, tb testing.TB, name string, pct *int32) *ground.Scheduler {
	tb.Helper()
	bin, err := ground.BuildRailnetScheduler(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	grantSchedulerRailnetReads(ctx, tb)
	weight := int32(2)
	s, err := cluster.StartScheduler(ctx, ground.SchedulerSpec{Name: name, Binary: bin, PercentageOfNodesToScore: pct,
		Plugins: &schedconfigv1.Plugins{MultiPoint: schedconfigv1.PluginSet{
			Enabled: []schedconfigv1.Plugin{{Name: plugin.Name, Weight: &weight}}}},
		PluginConfig: []schedconfigv1.PluginConfig{{Name: plugin.Name,
			Args: runtime.RawExtension{Raw: []byte(`{"heartbeatTTL":"30m"}`)}}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// grantSchedulerRailnetReads lets kube-scheduler's identity read the kinds
// the plugin caches (and the scheduler watches for its requeue events).
func grantSchedulerRailnetReads(ctx context.Context, tb testing.TB) {
	tb.Helper()
	name := "railnet-scheduler-plugin-e2e"
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{railnetv1alpha1.GroupVersion.Group}, Resources: []string{"rdmanodes", "ipallocations"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{spiderv2beta1.GroupVersion.Group}, Resources: []string{"spiderippools", "spidermultusconfigs"}, Verbs: []string{"get", "list", "watch"}},
	}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "system:kube-scheduler"}}}
	if err := cluster.Client.Create(ctx, role); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatal(err)
	}
	if err := cluster.Client.Create(ctx, binding); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatal(err)
	}
}

// railnet-scheduler places pods needing rails only where the extender
// would, and its refusals reach the pod's PodScheduled condition and
// FailedScheduling event with the extender's reasons.
func TestRailnetSchedulerPlacesWhereTheExtenderWould(t *testing.T) {
	startRailnetScheduler(ctxT(t, 20*time.Minute), t, "railnet-scheduler", nil)
	r := newRig(t, "e2e-plugin", resources[6], []string{"172.16.11.1-172.16.11.2"}, func(p *spiderv2beta1.SpiderIPPool) {
		p.Spec.NodeAffinity = &metav1.LabelSelector{MatchLabels: map[string]string{"e2e-pool": "gpu1"}}
	})
	r.scheduler = "railnet-scheduler"
	inPool := map[string]string{"e2e-pool": "gpu1"}
	r.node("plugin-ok", inPool, nil)
	r.node("plugin-link-down", inPool, func(n *railnetv1alpha1.NIC) { n.LinkState = "down" })
	r.node("plugin-port-down", inPool, func(n *railnetv1alpha1.NIC) { n.PortState = "DOWN" })
	r.node("plugin-no-pool", nil, nil)
	r.node("plugin-other-nic", inPool, func(n *railnetv1alpha1.NIC) { n.Netdev = "eth9" })
	r.allocate("172.16.11.1", "someone-else", "uid-someone-else", "plugin-ok")

	first := r.pod("first", nil)
	if got := r.waitBound(first); got != "plugin-ok" {
		t.Fatalf("first pod bound to %s, want plugin-ok (the only node with its rail up, its NIC present and the pool serving it)", got)
	}
	r.allocate("172.16.11.2", first.Name, string(first.UID), "plugin-ok")
	second := r.pod("second", nil)
	msg := r.waitUnschedulable(second, "SpiderIPPool e2e-plugin-net11 has no free address")
	for _, want := range []string{
		"1 rail e2e-plugin/gpu1-macvlan: NIC eth1 is down on this node (link down); bring the link up or drain the node",
		"1 rail e2e-plugin/gpu1-macvlan: NIC eth1 is down on this node (RDMA port DOWN); bring the link up or drain the node",
		"1 rail e2e-plugin/gpu1-macvlan: no address for this node: SpiderIPPool e2e-plugin-net11 serves only nodes matching e2e-pool=gpu1 (spec.nodeAffinity), not this one",
		"1 rail e2e-plugin/gpu1-macvlan: NIC eth1 not found in this node's RDMANode",
		"1 rail e2e-plugin/gpu1-macvlan: no address for this node: SpiderIPPool e2e-plugin-net11 has no free address (2 usable, ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("second pod's PodScheduled message lacks %q:\n%s", want, msg)
		}
	}
	r.waitEvent(second, "SpiderIPPool e2e-plugin-net11 has no free address")
}
