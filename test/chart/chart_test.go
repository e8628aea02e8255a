package chart

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/railnet/railnet/api/golden"
	"github.com/railnet/railnet/test/ground"
)

// Toggles: each renders the chart with these --set values and is compared
// with testdata/<name>.yaml.
var toggles = []struct {
	name string
	set  []string
	apis []string // --api-versions: what the cluster serves beyond Kubernetes' own
}{
	{name: "default"},
	{name: "rdma-device-plugin", set: []string{"rdma.rdmaSharedDevicePlugin.install=true"}},
	{name: "inject-enabled", set: []string{"webhook.podResourceInject.enabled=true", "webhook.podResourceInject.namespacesExclude={kube-system}"}},
	{name: "prometheus", set: []string{"nodeAgent.prometheus.enabled=true", "nodeAgent.prometheus.enabledRdmaMetric=true", "serviceMonitor.install=true"}, apis: serviceMonitorAPI},
	{name: "grafana-dashboard", set: []string{"grafanaDashboard.install=true"}},
	{name: "prometheus-rule", set: []string{"prometheusRule.install=true"}},
	{name: "registry-override", set: []string{"global.imageRegistryOverride=ghcr.m.daocloud.io", "scheduler.enabled=true"}},
	{name: "cert-manager", set: []string{"certificate.mode=cert-manager"}, apis: certManagerAPI},
	{name: "secondary-scheduler", set: []string{"scheduler.enabled=true", "rdma.rdmaSharedDevicePlugin.install=true"}},
	{name: "secondary-scheduler-plugin", set: []string{"scheduler.enabled=true", "scheduler.plugin=true", "rdma.rdmaSharedDevicePlugin.install=true"}},
	{name: "cert-manager-scheduler", set: []string{"certificate.mode=cert-manager", "scheduler.enabled=true"}, apis: certManagerAPI},
	{name: "own-scheduler-deployment", set: []string{"extender.schedulerDeployment=kube-scheduler"}},
	{name: "cert-manager-own-scheduler-deployment", set: []string{"certificate.mode=cert-manager", "extender.schedulerDeployment=kube-scheduler"}, apis: certManagerAPI},
	{name: "control-plane-extender", set: []string{"extender.controlPlane.enabled=true", "rdma.rdmaSharedDevicePlugin.install=true"}},
	{name: "fixture-node", set: []string{"nodeAgent.sysfsRoot=/srv/fixture/rail8", "nodeAgent.rdmaNetnsMode=shared"}},
	{name: "dra", set: []string{"dra.enabled=true"}},
}

var (
	certManagerAPI    = []string{"cert-manager.io/v1/Certificate", "cert-manager.io/v1/Issuer"}
	serviceMonitorAPI = []string{"monitoring.coreos.com/v1/ServiceMonitor"}
)

func TestLint(t *testing.T) {
	out, err := helm(t, "lint", "--strict", chartDir(t))
	if err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

func TestTemplateGolden(t *testing.T) {
	for _, tt := range toggles {
		t.Run(tt.name, func(t *testing.T) {
			got := renderWith(t, tt.apis, tt.set...)
			golden.Check(t, filepath.Join("testdata", tt.name+".yaml"), got)
		})
	}
}

// values.schema.json rejects typos and bad values with a message naming them.
func TestSchemaRejectsTypos(t *testing.T) {
	tests := []struct {
		set  string
		want string
	}{
		{"webhook.replicaz=2", "replicaz"},
		{"rdma.rdmaSharedDevicePlugin.instal=true", "instal"},
		{"certificate.mode=vault", "/certificate/mode"},
		{"webhook.podResourceInject.enabled=yes", "enabled"},
		{"nodeAgent.rdmaNetnsMode=shard", "/nodeAgent/rdmaNetnsMode"},
		{"nodeAgent.sysfsRoot=fixture", "/nodeAgent/sysfsRoot"},
		{"spiderpoolAgent.debug=true", "debug"},
		{"dra.sharesPerNIC=0", "/dra/sharesPerNIC"},
		{"rdma.rdmaSharedDevicePlugin.config.configList[0].rdmaHcaMax=20000", "rdmaHcaMax': maximum: got 20,000, want 10,000"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			out, err := helm(t, "template", "railnet", chartDir(t), "--namespace", "railnet", "--set", tt.set)
			if err == nil {
				t.Fatalf("--set %s was accepted", tt.set)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Fatalf("--set %s refused without naming %q:\n%s", tt.set, tt.want, out)
			}
		})
	}
}

// No role of any rendering grants a wildcard verb, resource or API group.
func TestRBACHasNoWildcards(t *testing.T) {
	for _, tt := range toggles {
		for _, obj := range decode(t, renderWith(t, tt.apis, tt.set...)) {
			if obj.GetKind() != "ClusterRole" && obj.GetKind() != "Role" {
				continue
			}
			var role rbacv1.ClusterRole // same rules shape as Role
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &role); err != nil {
				t.Fatal(err)
			}
			for _, r := range role.Rules {
				for _, list := range [][]string{r.Verbs, r.Resources, r.APIGroups, r.ResourceNames} {
					for _, v := range list {
						if strings.Contains(v, "*") {
							t.Errorf("%s: %s %s grants %q in rule %+v", tt.name, obj.GetKind(), obj.GetName(), v, r)
						}
					}
				}
			}
		}
	}
}

func render(t *testing.T, set ...string) []byte {
	t.Helper()
	return renderWith(t, nil, set...)
}

// renderWith renders as for a cluster that also serves apis.
func renderWith(t *testing.T, apis []string, set ...string) []byte {
	t.Helper()
	args := []string{"template", "railnet", chartDir(t), "--namespace", "railnet"}
	for _, a := range apis {
		args = append(args, "--api-versions", a)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", set, err, out)
	}
	return out
}

func decode(t *testing.T, manifest []byte) []*unstructured.Unstructured {
	t.Helper()
	objs, err := ground.DecodeYAML(manifest)
	if err != nil {
		t.Fatalf("decode rendered chart: %v", err)
	}
	return objs
}

// helm runs the real helm command (built from its Go module, cached).
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	return ground.Helm(ctx, args...)
}

func chartDir(t *testing.T) string {
	t.Helper()
	dir, err := ground.ChartDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// The seed guide's --set flags use Spiderpool's keys: the chart takes them
// as written and renders exactly what railnet's own keys render, and its
// notes say which railnet key each one set.
func TestSeedSetsMapOntoRailnetValues(t *testing.T) {
	seed := []string{"rdma.rdmaSharedDevicePlugin.install=true", "spiderpoolAgent.prometheus.enabled=true",
		"spiderpoolAgent.prometheus.enabledRdmaMetric=true", "grafanaDashboard.install=true",
		"spiderpoolController.podResourceInject.enabled=true", "global.imageRegistryOverride=ghcr.m.daocloud.io"}
	railnet := []string{"rdma.rdmaSharedDevicePlugin.install=true", "nodeAgent.prometheus.enabled=true",
		"nodeAgent.prometheus.enabledRdmaMetric=true", "grafanaDashboard.install=true",
		"webhook.podResourceInject.enabled=true", "global.imageRegistryOverride=ghcr.m.daocloud.io"}
	if got, want := render(t, seed...), render(t, railnet...); !bytes.Equal(got, want) {
		t.Errorf("the seed's --set flags render differently from railnet's keys")
	}
	args := []string{"install", "railnet", chartDir(t), "--namespace", "railnet", "--dry-run=client"}
	for _, s := range seed {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm install --dry-run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"spiderpoolController.podResourceInject.enabled=true set railnet's webhook.podResourceInject.enabled=true",
		"spiderpoolAgent.prometheus.enabled=true set railnet's nodeAgent.prometheus.enabled=true",
		"spiderpoolAgent.prometheus.enabledRdmaMetric=true set railnet's nodeAgent.prometheus.enabledRdmaMetric=true",
		"Automatic injection is on",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("NOTES lack %q:\n%s", want, out)
		}
	}
}
