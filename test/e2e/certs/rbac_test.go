package certs

import (
	"bytes"
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/serving"
)

// The least privilege the self-managed mode needs (what the chart grants):
// create Secrets, and get/list/watch/update the one CA Secret in the
// namespace; list/watch webhook configurations cluster-wide, get/update the
// named ones. The Manager works with exactly that.
func TestLeastPrivilege(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	const hook = "certs-e2e-rbac"
	const secret = "railnet-ca-rbac"
	const user = "system:serviceaccount:" + namespace + ":railnet-webhook"
	ctx := context.Background()

	create(t, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "certs-e2e-rbac"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{secret}, Verbs: []string{"get", "list", "watch", "update"}},
		},
	})
	create(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "certs-e2e-rbac"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "certs-e2e-rbac"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	})
	create(t, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "certs-e2e-rbac"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}, ResourceNames: []string{hook}, Verbs: []string{"get", "update"}},
		},
	})
	create(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "certs-e2e-rbac"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "certs-e2e-rbac"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	})

	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	// Built as a service does, from its flag values.
	m, err := serving.New(cfg, serving.Config{
		Namespace: namespace, CASecret: secret, Service: "railnet-webhook", ExtraSANs: []string{"127.0.0.1"},
		MutatingWebhooks: []string{hook},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(runManager(t, m))
	applyWebhookConfig(t, webhookConfig(hook, "127.0.0.1:1", nil))
	eventually(t, 30*time.Second, "the CA created and the caBundle injected with the least privilege", func() (bool, error) {
		if !m.Healthy() {
			return false, m.HealthError()
		}
		bundles, err := caBundleOf(ctx, hook)
		if err != nil {
			return false, err
		}
		return bytes.Equal(bundles[0], m.Bundle()), nil
	})
}

// create makes obj as admin and deletes it when the test ends.
func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := cluster.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() {
		if err := cluster.Client.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %T %s: %v", obj, obj.GetName(), err)
		}
	})
}
