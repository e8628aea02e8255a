package extender

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
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
		{APIGroups: []string{railnetv1.GroupVersion.Group}, Resources: []string{"rdmanodes", "ipallocations"}, Verbs: []string{"get", "list", "watch"}},
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
	podsLandWhereRailsAreUpAndPoolsHaveRoom(t, "e2e-plugin", resources[6], "railnet-scheduler")
}
