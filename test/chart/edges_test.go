package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// kinds lists "Kind name" of every object in a rendering.
func kinds(objs []*unstructured.Unstructured) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.GetKind() + " " + o.GetName()
	}
	return out
}

func hasKind(objs []*unstructured.Unstructured, kind string) bool {
	return slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind })
}

// A PodDisruptionBudget over one webhook replica (minAvailable 1) would block
// every drain of that replica's node.
func TestWebhookPDBNeedsTwoReplicas(t *testing.T) {
	for _, tt := range []struct {
		replicas int
		wantPDB  bool
	}{{1, false}, {2, true}, {3, true}} {
		t.Run(fmt.Sprint(tt.replicas), func(t *testing.T) {
			objs := decode(t, render(t, fmt.Sprintf("webhook.replicas=%d", tt.replicas)))
			if got := hasKind(objs, "PodDisruptionBudget"); got != tt.wantPDB {
				t.Errorf("webhook.replicas=%d renders a PodDisruptionBudget = %v, want %v (%v)", tt.replicas, got, tt.wantPDB, kinds(objs))
			}
		})
	}
	out, err := helm(t, "template", "railnet", chartDir(t), "--namespace", "railnet",
		"--set", "webhook.replicas=2", "--set", "webhook.podDisruptionBudget.minAvailable=2")
	want := "webhook.podDisruptionBudget.minAvailable 2 would keep all 2 webhook replicas from being evicted and block node drains; set it below webhook.replicas"
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("minAvailable = replicas: err %v, want a refusal containing %q:\n%s", err, want, out)
	}
}

// cert-manager objects and ServiceMonitors render only for a cluster that
// serves their APIs; asked for on one that does not, the install fails with
// a message saying what to do instead of the API server's "no matches for
// kind".
func TestOptionalCRDsNeedTheirAPIs(t *testing.T) {
	tests := []struct {
		set, kind, want string
		apis            []string
	}{
		{set: "certificate.mode=cert-manager", kind: "Certificate", apis: certManagerAPI,
			want: "certificate.mode=cert-manager, but the cluster serves no cert-manager.io/v1 Certificate and Issuer: install cert-manager first or use certificate.mode=self-managed"},
		{set: "serviceMonitor.install=true", kind: "ServiceMonitor", apis: serviceMonitorAPI,
			want: "serviceMonitor.install=true, but the cluster serves no monitoring.coreos.com/v1 ServiceMonitor: install the Prometheus Operator's CRDs first or set serviceMonitor.install=false"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			out, err := helm(t, "template", "railnet", chartDir(t), "--namespace", "railnet", "--set", tt.set)
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("--set %s without the API: err %v, want a refusal containing %q:\n%s", tt.set, err, tt.want, out)
			}
			// Only half of cert-manager's API is not enough either.
			if len(tt.apis) > 1 {
				if out, err := helm(t, "template", "railnet", chartDir(t), "--namespace", "railnet", "--set", tt.set, "--api-versions", tt.apis[0]); err == nil {
					t.Errorf("--set %s with only %s rendered", tt.set, tt.apis[0])
				} else if !strings.Contains(string(out), tt.want) {
					t.Errorf("--set %s with only %s: %s", tt.set, tt.apis[0], out)
				}
			}
			if objs := decode(t, renderWith(t, tt.apis, tt.set)); !hasKind(objs, tt.kind) {
				t.Errorf("--set %s with %v renders no %s", tt.set, tt.apis, tt.kind)
			}
			if objs := decode(t, render(t)); hasKind(objs, tt.kind) {
				t.Errorf("default values render a %s", tt.kind)
			}
		})
	}
}

// global.imageRegistryOverride is the mirror of railnet's images; the
// secondary scheduler's kube-scheduler comes from registry.k8s.io (or
// scheduler.image.registry), never from that mirror.
func TestRegistryOverrideLeavesSchedulerImage(t *testing.T) {
	images := func(set ...string) map[string]string {
		out := map[string]string{}
		for _, obj := range decode(t, render(t, set...)) {
			cs, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
			for _, c := range cs {
				m := c.(map[string]any)
				out[obj.GetName()+"/"+m["name"].(string)] = m["image"].(string)
			}
		}
		return out
	}
	got := images("global.imageRegistryOverride=ghcr.m.daocloud.io", "scheduler.enabled=true")
	var sched string
	for who, img := range got {
		switch {
		case strings.Contains(img, "kube-scheduler"):
			sched = img
		case !strings.HasPrefix(img, "ghcr.m.daocloud.io/"):
			t.Errorf("%s: image %s does not use the override", who, img)
		}
	}
	if sched != "registry.k8s.io/kube-scheduler:v1.37.2" {
		t.Errorf("secondary scheduler image with global.imageRegistryOverride = %q, want registry.k8s.io/kube-scheduler:v1.37.2", sched)
	}
	for _, img := range images("global.imageRegistryOverride=ghcr.m.daocloud.io", "scheduler.enabled=true", "scheduler.image.registry=k8s.m.daocloud.io") {
		if strings.Contains(img, "kube-scheduler") && img != "k8s.m.daocloud.io/kube-scheduler:v1.37.2" {
			t.Errorf("scheduler.image.registry=k8s.m.daocloud.io gives %s", img)
		}
	}
}

// Pods of kube-system and of the release's namespace never reach the pod
// webhooks, whatever labels their namespace carries.
func TestPodWebhooksExcludeSystemNamespaces(t *testing.T) {
	out, err := helm(t, "template", "railnet", chartDir(t), "--namespace", "netops")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	var m admissionregv1.MutatingWebhookConfiguration
	for _, obj := range decode(t, out) {
		if obj.GetKind() == "MutatingWebhookConfiguration" {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &m); err != nil {
				t.Fatal(err)
			}
		}
	}
	pods := 0
	for _, w := range m.Webhooks {
		if !slices.Contains(w.Rules[0].Resources, "pods") {
			continue
		}
		pods++
		sel, err := nsSelector(w.NamespaceSelector)
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		for ns, want := range map[string]bool{"kube-system": false, "netops": false, "ai": true, "railnet": true} {
			l := labels.Set{"kubernetes.io/metadata.name": ns, "railnet.io/inject-group": "rdma-network"}
			if got := sel.Matches(l); got != want {
				t.Errorf("%s: pods of namespace %s reach it = %v, want %v (selector %s)", w.Name, ns, got, want, sel)
			}
		}
	}
	if pods != 2 {
		t.Errorf("%d pod webhooks, want 2", pods)
	}
}

// nsSelector reads a webhook's namespaceSelector as the API server does: an
// absent one matches every namespace.
func nsSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}
