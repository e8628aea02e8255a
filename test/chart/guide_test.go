package chart

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/test/ground"
)

// guideCommands returns the shell commands of the operator guide's sh
// blocks.
func guideCommands(t *testing.T) []string {
	t.Helper()
	cmds, err := ground.GuideCommands(filepath.Join(chartDir(t), "docs", "operator-guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	return cmds
}

// Every helm install / upgrade of the operator guide renders against the
// chart with exactly its flags (paths as in the guide, from the repository
// root); test/e2e/install runs the same install on real nodes.
func TestOperatorGuideHelmCommandsRender(t *testing.T) {
	root := filepath.Dir(filepath.Dir(chartDir(t)))
	seen := 0
	for _, cmd := range guideCommands(t) {
		f := strings.Fields(cmd)
		if len(f) < 4 || f[0] != "helm" || (f[1] != "install" && f[1] != "upgrade") {
			continue
		}
		seen++
		args := []string{"template", f[2]}
		for i := 3; i < len(f); i++ {
			a := f[i]
			switch {
			case a == "--reuse-values" || a == "--create-namespace":
				continue // install/upgrade only; template renders from the chart's defaults
			case strings.HasPrefix(a, "charts/") || (i > 0 && f[i-1] == "-f"):
				a = filepath.Join(root, a)
			}
			args = append(args, a)
		}
		if out, err := helm(t, args...); err != nil {
			t.Errorf("the guide's %q does not render: %v\n%s", cmd, err, out)
		}
	}
	if seen < 2 {
		t.Fatalf("found %d helm install/upgrade commands in the guide, want the install and the upgrade", seen)
	}
}

// The guide's kube-scheduler config carries exactly the extender stanza the
// chart publishes for kubeadm's scheduler with the guide's device plugin
// config.
func TestOperatorGuideSchedulerConfigMatchesTheChart(t *testing.T) {
	examples := filepath.Join(chartDir(t), "docs", "examples")
	b, err := os.ReadFile(filepath.Join(examples, "kube-scheduler-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg schedconfigv1.KubeSchedulerConfiguration
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		t.Fatalf("examples/kube-scheduler-config.yaml: %v", err)
	}
	out, err := helm(t, "template", "railnet", chartDir(t), "--namespace", "railnet-system",
		"-f", filepath.Join(examples, "device-plugin-values.yaml"), "--set", "extender.controlPlane.enabled=true")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	var published []schedconfigv1.Extender
	for _, obj := range decode(t, out) {
		if obj.GetKind() == "ConfigMap" && obj.GetName() == "railnet-extender-scheduler-config" {
			var cm corev1.ConfigMap
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &cm); err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict([]byte(cm.Data["extender.yaml"]), &published); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !reflect.DeepEqual(cfg.Extenders, published) {
		t.Errorf("examples/kube-scheduler-config.yaml extenders\n%+v\ndiffer from the chart's published stanza\n%+v", cfg.Extenders, published)
	}
}
