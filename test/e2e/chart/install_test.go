package chart_test

import (
	"context"
	"fmt"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/ground"
)

const (
	release   = "railnet"
	namespace = "railnet-system"
)

// helm install puts every object of the chart into the API server (the API
// server validates each against its schema); helm uninstall removes them all.
func TestInstallAndUninstall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	sets := []string{"rdma.rdmaSharedDevicePlugin.install=true", "webhook.podResourceInject.enabled=true",
		"nodeAgent.prometheus.enabled=true", "grafanaDashboard.install=true", "scheduler.enabled=true"}
	args := []string{"install", release, chartDir(t), "--namespace", namespace, "--create-namespace", "--wait=false"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	if out, err := helm(ctx, t, args...); err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	manifest, err := helm(ctx, t, "get", "manifest", release, "--namespace", namespace)
	if err != nil {
		t.Fatalf("helm get manifest: %v\n%s", err, manifest)
	}
	objs := decode(t, manifest)
	if len(objs) < 20 {
		t.Fatalf("the release has only %d objects", len(objs))
	}
	for _, o := range objs {
		if err := cluster.Client.Get(ctx, key(o), o.DeepCopy()); err != nil {
			t.Errorf("%s %s is not in the API server after install: %v", o.GetKind(), o.GetName(), err)
		}
	}

	t.Run("rbac", func(t *testing.T) { checkRBAC(ctx, t) })
	t.Run("agent scoped to its node", func(t *testing.T) { checkAgentScope(ctx, t) })

	// --no-hooks: this ground has no kubelet to run the post-delete cleanup
	// Job; test/e2e/install runs it on real nodes.
	if out, err := helm(ctx, t, "uninstall", release, "--namespace", namespace, "--wait", "--no-hooks"); err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	for _, o := range objs {
		err := cluster.Client.Get(ctx, key(o), o.DeepCopy())
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s %s survived helm uninstall (get: %v)", o.GetKind(), o.GetName(), err)
		}
	}
}

// Each component's ServiceAccount can do what the component does and nothing
// broader: SubjectAccessReviews against the roles the chart installed.
func checkRBAC(ctx context.Context, t *testing.T) {
	sa := func(c string) string { return fmt.Sprintf("system:serviceaccount:%s:%s-%s", namespace, release, c) }
	type access struct {
		verb, group, resource, sub, ns, name string
		allowed                              bool
	}
	cases := map[string][]access{
		sa("webhook"): {
			{verb: "list", group: "spiderpool.spidernet.io", resource: "spidermultusconfigs", allowed: true},
			{verb: "watch", group: "spiderpool.spidernet.io", resource: "spiderippools", allowed: true},
			{verb: "create", group: "k8s.cni.cncf.io", resource: "network-attachment-definitions", ns: "spiderpool", allowed: true},
			{verb: "patch", resource: "namespaces", allowed: true},
			{verb: "get", resource: "configmaps", ns: namespace, allowed: true},
			{verb: "update", resource: "secrets", ns: namespace, name: release + "-ca", allowed: true},
			{verb: "update", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: release + "-webhook", allowed: true},
			{verb: "update", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "someone-elses", allowed: false},
			{verb: "get", resource: "secrets", ns: "kube-system", allowed: false},
			{verb: "create", resource: "pods", ns: "default", allowed: false},
			{verb: "delete", group: "spiderpool.spidernet.io", resource: "spiderippools", allowed: false},
		},
		sa("extender"): {
			{verb: "list", resource: "nodes", allowed: true},
			{verb: "watch", resource: "pods", allowed: true},
			{verb: "list", group: "railnet.io", resource: "rdmanodes", allowed: true},
			{verb: "list", group: "railnet.io", resource: "ipallocations", allowed: true},
			{verb: "update", resource: "nodes", allowed: false},
			{verb: "create", resource: "pods", sub: "binding", ns: "default", allowed: false},
			{verb: "list", resource: "secrets", ns: "default", allowed: false},
			// the webhook's configuration, followed live; no other ConfigMap
			{verb: "watch", resource: "namespaces", allowed: true},
			{verb: "watch", resource: "configmaps", ns: namespace, name: release + "-config", allowed: true},
			{verb: "get", resource: "configmaps", ns: namespace, name: "someone-elses", allowed: false},
		},
		sa("node-agent"): {
			{verb: "update", group: "railnet.io", resource: "rdmanodes", sub: "status", allowed: true},
			{verb: "create", group: "railnet.io", resource: "ipallocations", allowed: true},
			{verb: "delete", group: "railnet.io", resource: "ipallocations", allowed: true},
			{verb: "update", group: "railnet.io", resource: "ipallocations", allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: namespace, name: "railnet-ipam-pool-status", allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: namespace, name: release + "-scheduler", allowed: false},
			{verb: "patch", resource: "nodes", allowed: true},
			{verb: "update", group: "spiderpool.spidernet.io", resource: "spiderippools", sub: "status", allowed: true},
			{verb: "update", group: "spiderpool.spidernet.io", resource: "spiderippools", allowed: false},
			{verb: "delete", resource: "nodes", allowed: false},
			{verb: "get", resource: "secrets", ns: namespace, allowed: false},
		},
		sa("scheduler"): {
			{verb: "create", resource: "pods", sub: "binding", ns: "default", allowed: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: namespace, name: release + "-scheduler", allowed: true},
			{verb: "delete", resource: "nodes", allowed: false},
			// the extender beside it follows the webhook's configuration
			{verb: "list", resource: "configmaps", ns: namespace, name: release + "-config", allowed: true},
		},
	}
	for user, accesses := range cases {
		for _, a := range accesses {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   user,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.sub, Namespace: a.ns, Name: a.name,
				},
			}}
			if err := cluster.Client.Create(ctx, sar); err != nil {
				t.Fatal(err)
			}
			if sar.Status.Allowed != a.allowed {
				t.Errorf("%s: %s %s/%s %s (ns %q, name %q): allowed=%v, want %v (%s)", user, a.verb, a.group, a.resource, a.sub, a.ns, a.name,
					sar.Status.Allowed, a.allowed, sar.Status.Reason)
			}
		}
	}
}

func key(o *unstructured.Unstructured) client.ObjectKey {
	return client.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetName()}
}

func decode(t *testing.T, manifest []byte) []*unstructured.Unstructured {
	t.Helper()
	objs, err := ground.DecodeYAML(manifest)
	if err != nil {
		t.Fatalf("decode manifest: %v", err)
	}
	for _, u := range objs {
		if u.GetNamespace() == "" && namespaced(u.GetKind()) {
			u.SetNamespace(namespace)
		}
	}
	return objs
}

func namespaced(kind string) bool {
	switch kind {
	case "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "CustomResourceDefinition", "Namespace",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return false
	}
	return true
}

func helm(ctx context.Context, t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return ground.Helm(ctx, append(args, "--kubeconfig", cluster.Kubeconfig)...)
}

func chartDir(t *testing.T) string {
	t.Helper()
	dir, err := ground.ChartDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// With Spiderpool installed, helm install refuses, saying why and what to
// do, and leaves nothing behind.
func TestInstallRefusedNextToSpiderpool(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sp := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "spiderpool-controller"}}
	if err := cluster.Client.Create(ctx, sp); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cluster.Client.Delete(context.Background(), sp) }()
	out, err := helm(ctx, t, "install", "railnet-next-to-spiderpool", chartDir(t), "--namespace", "railnet-sp", "--create-namespace")
	want := "Spiderpool is installed (MutatingWebhookConfiguration spiderpool-controller): railnet serves the same SpiderIPPool / SpiderMultusConfig API"
	if err == nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), "Uninstall Spiderpool first") {
		t.Fatalf("helm install next to Spiderpool: %v\n%s", err, out)
	}
	if out, err := helm(ctx, t, "status", "railnet-next-to-spiderpool", "--namespace", "railnet-sp"); err == nil {
		t.Errorf("a release was recorded:\n%s", out)
	}
}
