package certs

import (
	"bytes"
	"context"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/selfmanaged"
)

// repairBudget is how soon an emptied caBundle must be repaired and
// admissions succeed again.
const repairBudget = 10 * time.Second

// Re-applying the webhook configuration with an empty caBundle (what a helm
// upgrade does with a chart that carries none) is repaired within seconds,
// and admissions resume.
func TestEmptiedCABundleIsRepaired(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	deletePods(t)
	const hook = "certs-e2e-repair"
	bundleMap := types.NamespacedName{Namespace: namespace, Name: "railnet-ca-bundle-repair"}
	t.Cleanup(func() {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: bundleMap.Namespace, Name: bundleMap.Name}}
		if err := cluster.Client.Delete(context.Background(), cm); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete ConfigMap %s: %v", bundleMap, err)
		}
	})
	ctx := context.Background()
	m := startManager(t, selfmanaged.Options{
		Namespace:  namespace,
		SecretName: "railnet-ca-repair",
		ExtraSANs:  []string{"127.0.0.1"},
		Inject: selfmanaged.Targets{
			MutatingWebhooks: []string{hook},
			Selector:         labels.SelectorFromSet(labels.Set{selfmanaged.LabelInjectCA: "repair"}),
			ConfigMaps:       []types.NamespacedName{bundleMap},
		},
	})
	addr, _ := serveWebhook(t, m.GetCertificate, m.Healthy)
	applyWebhookConfig(t, webhookConfig(hook, addr, nil))
	eventually(t, 20*time.Second, "the webhook admitting", func() (bool, error) { return admits(ctx, hook) })

	// A validating configuration selected by label, with two entries, and one
	// with the same label value missing: the first gets both entries
	// injected, the second is left alone.
	applyValidatingConfig(t, validatingConfig(hook+"-validating", addr, map[string]string{selfmanaged.LabelInjectCA: "repair"}))
	applyValidatingConfig(t, validatingConfig(hook+"-other", addr, map[string]string{selfmanaged.LabelInjectCA: "false"}))
	eventually(t, repairBudget, "both entries of the labelled validating configuration injected", func() (bool, error) {
		var cfg admissionregistrationv1.ValidatingWebhookConfiguration
		if err := cluster.Client.Get(ctx, client.ObjectKey{Name: hook + "-validating"}, &cfg); err != nil {
			return false, err
		}
		for _, w := range cfg.Webhooks {
			if !bytes.Equal(w.ClientConfig.CABundle, m.Bundle()) {
				return false, nil
			}
		}
		return true, nil
	})
	var other admissionregistrationv1.ValidatingWebhookConfiguration
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: hook + "-other"}, &other); err != nil {
		t.Fatal(err)
	}
	for _, w := range other.Webhooks {
		if len(w.ClientConfig.CABundle) != 0 {
			t.Fatalf("the caBundle of unselected ValidatingWebhookConfiguration %s was set", other.Name)
		}
	}

	// The bundle ConfigMap (for clients reading a CA file) is created, and
	// repaired after someone empties it.
	bundleIn := func() (bool, error) {
		var cm corev1.ConfigMap
		if err := cluster.Client.Get(ctx, bundleMap, &cm); err != nil {
			return false, err
		}
		return cm.Data[selfmanaged.ConfigMapKey] == string(m.Bundle()), nil
	}
	eventually(t, repairBudget, "the bundle ConfigMap created", bundleIn)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cm corev1.ConfigMap
		if err := cluster.Client.Get(ctx, bundleMap, &cm); err != nil {
			return err
		}
		cm.Data = nil
		return cluster.Client.Update(ctx, &cm)
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, repairBudget, "the bundle ConfigMap repaired", bundleIn)

	for round := range 3 {
		// Re-apply the chart's object: caBundle empty again.
		start := time.Now()
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var cfg admissionregistrationv1.MutatingWebhookConfiguration
			if err := cluster.Client.Get(ctx, client.ObjectKey{Name: hook}, &cfg); err != nil {
				return err
			}
			fresh := webhookConfig(hook, addr, nil)
			fresh.ResourceVersion = cfg.ResourceVersion
			return cluster.Client.Update(ctx, fresh)
		})
		if err != nil {
			t.Fatalf("re-apply with an empty caBundle: %v", err)
		}
		var repaired time.Duration
		eventually(t, repairBudget, "the caBundle repaired", func() (bool, error) {
			bundles, err := caBundleOf(ctx, hook)
			if err != nil || len(bundles[0]) == 0 {
				return false, err
			}
			repaired = time.Since(start)
			return true, nil
		})
		eventually(t, repairBudget-time.Since(start), "admissions to resume", func() (bool, error) { return admits(ctx, hook) })
		t.Logf("round %d: caBundle repaired after %s, admissions resumed after %s", round+1, repaired.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
}

// validatingConfig has two entries that never match a request: only their
// caBundle matters here.
func validatingConfig(name, addr string, l map[string]string) *admissionregistrationv1.ValidatingWebhookConfiguration {
	m := webhookConfig(name, addr, l).Webhooks[0]
	entry := func(n string) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{
			Name: n, ClientConfig: m.ClientConfig, AdmissionReviewVersions: m.AdmissionReviewVersions,
			SideEffects: m.SideEffects, FailurePolicy: m.FailurePolicy, NamespaceSelector: m.NamespaceSelector,
			MatchConditions: []admissionregistrationv1.MatchCondition{{Name: "never", Expression: "false"}},
			Rules:           m.Rules,
		}
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{entry("a.certs-e2e.railnet.io"), entry("b.certs-e2e.railnet.io")},
	}
}

func applyValidatingConfig(t *testing.T, cfg *admissionregistrationv1.ValidatingWebhookConfiguration) {
	t.Helper()
	if err := cluster.Client.Create(context.Background(), cfg); err != nil {
		t.Fatalf("create ValidatingWebhookConfiguration %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		if err := cluster.Client.Delete(context.Background(), cfg); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete ValidatingWebhookConfiguration %s: %v", cfg.Name, err)
		}
	})
}
