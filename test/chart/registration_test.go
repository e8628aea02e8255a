package chart

import (
	"reflect"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/railnet/railnet/webhook/registration"
)

// The chart's webhook configurations and the ones the webhook service
// builds in Go (used by its tests and local runs) must register the same
// webhooks: names, paths, rules, selectors, match conditions and policies.
func TestChartWebhooksMatchRegistration(t *testing.T) {
	svc := &admissionregv1.ServiceReference{Namespace: "railnet", Name: "railnet-webhook"}
	wantM := registration.Mutating(registration.Options{Name: "railnet-webhook", Service: svc})
	wantV := registration.Validating(registration.Options{Name: "railnet-webhook", Service: svc})
	var gotM admissionregv1.MutatingWebhookConfiguration
	var gotV admissionregv1.ValidatingWebhookConfiguration
	for _, obj := range decode(t, render(t)) {
		var into any
		switch obj.GetKind() {
		case "MutatingWebhookConfiguration":
			into = &gotM
		case "ValidatingWebhookConfiguration":
			into = &gotV
		default:
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
			t.Fatal(err)
		}
	}
	type hook struct {
		Path            string
		Rules           []admissionregv1.RuleWithOperations
		NSSelector      any
		MatchConditions []admissionregv1.MatchCondition
		Failure         *admissionregv1.FailurePolicyType
		SideEffects     *admissionregv1.SideEffectClass
		Reinvocation    *admissionregv1.ReinvocationPolicyType
		MatchPolicy     *admissionregv1.MatchPolicyType
	}
	conds := func(c []admissionregv1.MatchCondition) []admissionregv1.MatchCondition {
		if len(c) == 0 {
			return nil
		}
		return c
	}
	mut := func(ws []admissionregv1.MutatingWebhook) map[string]hook {
		out := map[string]hook{}
		for _, w := range ws {
			var sel any
			if w.NamespaceSelector != nil && (len(w.NamespaceSelector.MatchLabels) > 0 || len(w.NamespaceSelector.MatchExpressions) > 0) {
				sel = w.NamespaceSelector.MatchExpressions
			}
			out[w.Name] = hook{*w.ClientConfig.Service.Path, w.Rules, sel, conds(w.MatchConditions), w.FailurePolicy, w.SideEffects, w.ReinvocationPolicy, w.MatchPolicy}
		}
		return out
	}
	val := func(ws []admissionregv1.ValidatingWebhook) map[string]hook {
		out := map[string]hook{}
		for _, w := range ws {
			out[w.Name] = hook{Path: *w.ClientConfig.Service.Path, Rules: w.Rules, MatchConditions: conds(w.MatchConditions),
				Failure: w.FailurePolicy, SideEffects: w.SideEffects, MatchPolicy: w.MatchPolicy}
		}
		return out
	}
	if g, w := mut(gotM.Webhooks), mut(wantM.Webhooks); !reflect.DeepEqual(g, w) {
		t.Errorf("chart MutatingWebhookConfiguration differs from registration.Mutating:\nchart: %+v\nGo:    %+v", g, w)
	}
	if g, w := val(gotV.Webhooks), val(wantV.Webhooks); !reflect.DeepEqual(g, w) {
		t.Errorf("chart ValidatingWebhookConfiguration differs from registration.Validating:\nchart: %+v\nGo:    %+v", g, w)
	}
}
