package ground

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Helm runs the helm command built from its Go module (HelmTool), with its
// cache, config and data folders in a new temporary folder so nothing of the
// user's is read or written, and returns its combined output.
func Helm(ctx context.Context, args ...string) ([]byte, error) {
	dir, err := BuildGoTool(ctx, HelmTool())
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "railnet-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "helm"), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	return cmd.CombinedOutput()
}

// ChartDir returns charts/railnet of the module.
func ChartDir(ctx context.Context) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "charts", "railnet"), nil
}

// ApplyChartRBAC renders the chart as release into namespace with helm
// (extra args such as "--set", "scheduler.enabled=true" are passed on),
// applies its ServiceAccounts, roles and bindings, and returns for each
// component a kubeconfig in dir that impersonates the component's
// ServiceAccount <release>-<component>: components run with exactly the
// permissions the chart grants them.
func (c *Cluster) ApplyChartRBAC(tb TB, dir, release, namespace string, components []string, helmArgs ...string) map[string]string {
	tb.Helper()
	out, err := c.ChartRBAC(tb.Context(), dir, release, namespace, components, helmArgs...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// ChartRBAC is ApplyChartRBAC for callers without a test (a TestMain).
func (c *Cluster) ChartRBAC(ctx context.Context, dir, release, namespace string, components []string, helmArgs ...string) (map[string]string, error) {
	chart, err := ChartDir(ctx)
	if err != nil {
		return nil, err
	}
	args := append([]string{"template", release, chart, "--namespace", namespace}, helmArgs...)
	out, err := Helm(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("helm template: %w\n%s", err, out)
	}
	objs, err := DecodeYAML(out)
	if err != nil {
		return nil, err
	}
	var rbac []byte
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding":
			if o.GetNamespace() == "" {
				o.SetNamespace(namespace)
			}
		case "ClusterRole", "ClusterRoleBinding":
		default:
			continue
		}
		b, err := o.MarshalJSON()
		if err != nil {
			return nil, err
		}
		rbac = append(append(rbac, b...), '\n')
	}
	if _, err := c.Apply(ctx, rbac); err != nil {
		return nil, fmt.Errorf("apply the chart's RBAC: %w", err)
	}
	kubeconfigs := map[string]string{}
	for _, comp := range components {
		path := filepath.Join(dir, comp+".kubeconfig")
		sa := fmt.Sprintf("system:serviceaccount:%s:%s-%s", namespace, release, comp)
		if err := c.ImpersonatingKubeconfig(path, sa, "system:serviceaccounts", "system:serviceaccounts:"+namespace, "system:authenticated"); err != nil {
			return nil, err
		}
		kubeconfigs[comp] = path
	}
	return kubeconfigs, nil
}
