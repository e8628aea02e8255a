package story

import (
	"github.com/railnet/railnet/test/ground"
)

// chartRelease is the Helm release name the story's objects follow: the
// chart names the webhook's Lease, CA Secret and ConfigMap after it.
const chartRelease = "railnet"

// installChartRBAC applies the chart's RBAC and returns one kubeconfig per
// component that impersonates its ServiceAccount: the story's components run
// with exactly the permissions the chart grants them.
func installChartRBAC(tb ground.TB, c *ground.Cluster, dir string) map[string]string {
	tb.Helper()
	return c.ApplyChartRBAC(tb, dir, chartRelease, Namespace, []string{"webhook", "extender", "node-agent"})
}
