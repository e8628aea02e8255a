package certs

import (
	"context"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
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
	ctx := context.Background()
	m := startManager(t, selfmanaged.Options{
		Namespace:  namespace,
		SecretName: "railnet-ca-repair",
		ExtraSANs:  []string{"127.0.0.1"},
		Inject:     selfmanaged.Targets{MutatingWebhooks: []string{hook}},
	})
	addr, _ := serveWebhook(t, m.GetCertificate, m.Healthy)
	applyWebhookConfig(t, webhookConfig(hook, addr, nil))
	eventually(t, 20*time.Second, "the webhook admitting", func() (bool, error) { return admits(ctx, hook) })

	for round := range 3 {
		// Re-apply the chart's object: caBundle empty again.
		start := time.Now()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
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
