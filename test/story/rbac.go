package story

import (
	"fmt"
	"path/filepath"

	"github.com/railnet/railnet/test/ground"
)

// chartRelease is the Helm release name the story's objects follow: the
// chart names the webhook's Lease, CA Secret and ConfigMap after it.
const chartRelease = "railnet"

// installChartRBAC renders the chart with helm and applies its
// ServiceAccounts, Roles and bindings, then writes one kubeconfig per
// component that impersonates its ServiceAccount: the story's components run
// with exactly the permissions the chart grants them.
func installChartRBAC(tb ground.TB, c *ground.Cluster, dir string) map[string]string {
	tb.Helper()
	ctx := tb.Context()
	chart, err := ground.ChartDir(ctx)
	must(tb, err)
	out, err := ground.Helm(ctx, "template", chartRelease, chart, "--namespace", Namespace)
	if err != nil {
		tb.Fatalf("helm template: %v\n%s", err, out)
	}
	objs, err := ground.DecodeYAML(out)
	must(tb, err)
	var rbac []byte
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			if o.GetNamespace() == "" && (o.GetKind() == "ServiceAccount" || o.GetKind() == "Role" || o.GetKind() == "RoleBinding") {
				o.SetNamespace(Namespace)
			}
			b, err := o.MarshalJSON()
			must(tb, err)
			rbac = append(rbac, b...)
			rbac = append(rbac, '\n')
		}
	}
	if _, err := c.Apply(ctx, rbac); err != nil {
		tb.Fatalf("apply the chart's RBAC: %v", err)
	}
	out2 := map[string]string{}
	for _, comp := range []string{"webhook", "extender", "node-agent"} {
		path := filepath.Join(dir, comp+".kubeconfig")
		sa := fmt.Sprintf("system:serviceaccount:%s:%s-%s", Namespace, chartRelease, comp)
		must(tb, c.ImpersonatingKubeconfig(path, sa, "system:serviceaccounts", "system:serviceaccounts:"+Namespace, "system:authenticated"))
		out2[comp] = path
	}
	return out2
}
