package story

import (
	"github.com/railnet/railnet/test/ground"
)

// chartRelease is the Helm release name the story's objects follow: the
// chart names the webhook's Lease, CA Secret and ConfigMap after it.
const chartRelease = "railnet"

// installChartRBAC applies the chart's RBAC and returns one kubeconfig per
// component that impersonates its ServiceAccount: the story's components run
// with exactly the permissions the chart grants them (with dra.enabled, DRA
// mode's too).
func installChartRBAC(tb ground.TB, c *ground.Cluster, dir string, dra bool) map[string]string {
	tb.Helper()
	var args []string
	if dra {
		args = []string{"--set", "dra.enabled=true"}
	}
	return c.ApplyChartRBAC(tb, dir, chartRelease, Namespace, []string{"webhook", "extender", "node-agent"}, args...)
}
