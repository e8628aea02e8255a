package registration

import (
	"fmt"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// Paths the admission server serves, one per kind and kind of webhook (the
// handler behind each dispatches on the request's kind anyway).
const (
	MutatePodPath                  = "/mutate-pod"
	MutateSpiderIPPoolPath         = "/mutate-spiderippool"
	MutateSpiderMultusConfigPath   = "/mutate-spidermultusconfig"
	ValidateSpiderIPPoolPath       = "/validate-spiderippool"
	ValidateSpiderMultusConfigPath = "/validate-spidermultusconfig"
)

// MutatePaths and ValidatePaths list them by webhook type.
var (
	MutatePaths   = []string{MutatePodPath, MutateSpiderIPPoolPath, MutateSpiderMultusConfigPath}
	ValidatePaths = []string{ValidateSpiderIPPoolPath, ValidateSpiderMultusConfigPath}
)

// NamespaceLabel marks namespaces that carry an inject annotation; the
// controller keeps it in sync with the annotations.
const NamespaceLabel = "railnet.io/inject-group"

// podAnnotated is true when the pod itself names an inject group.
var podAnnotated = fmt.Sprintf("has(object.metadata.annotations) && (%q in object.metadata.annotations || %q in object.metadata.annotations)",
	spiderv2beta1.AnnotationRDMAResourceInject, spiderv2beta1.AnnotationNetworkResourceInject)

// Options say where the apiserver reaches the service.
type Options struct {
	// Name of both configurations.
	Name string
	// URL is the service's base URL (https://host:port), used when Service
	// is nil.
	URL string
	// Service is the in-cluster Service; its Path is replaced per webhook.
	Service *admissionregv1.ServiceReference
	// CABundle is the PEM CA that signed the serving certificate.
	CABundle []byte
	// TimeoutSeconds per call; 10 when zero.
	TimeoutSeconds int32
	// Namespace is railnet's own namespace, whose pods never reach the pod
	// webhooks; Service's namespace when empty.
	Namespace string
}

// ExcludedNamespaces are the namespaces whose pods the pod webhooks never
// see, whatever the live include/exclude lists say: kube-system and
// railnet's own namespace, so that a broken railnet can never block the
// cluster's or its own recovery.
func (o Options) ExcludedNamespaces() []string {
	ns := o.Namespace
	if ns == "" && o.Service != nil {
		ns = o.Service.Namespace
	}
	out := []string{metav1.NamespaceSystem}
	if ns != "" && ns != metav1.NamespaceSystem {
		out = append(out, ns)
	}
	return out
}

// notExcluded is the namespace selector term that keeps ExcludedNamespaces
// out, by the name label the API server sets on every namespace.
func (o Options) notExcluded() metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: o.ExcludedNamespaces()}
}

func (o Options) client(path string) admissionregv1.WebhookClientConfig {
	c := admissionregv1.WebhookClientConfig{CABundle: o.CABundle}
	if o.Service != nil {
		s := *o.Service
		s.Path = &path
		c.Service = &s
	} else {
		u := o.URL + path
		c.URL = &u
	}
	return c
}

func (o Options) timeout() *int32 {
	t := o.TimeoutSeconds
	if t == 0 {
		t = 10
	}
	return &t
}

func crdRule(resource string, ops ...admissionregv1.OperationType) admissionregv1.RuleWithOperations {
	return admissionregv1.RuleWithOperations{Operations: ops, Rule: admissionregv1.Rule{
		APIGroups: []string{spiderv2beta1.GroupVersion.Group}, APIVersions: []string{spiderv2beta1.GroupVersion.Version},
		Resources: []string{resource}, Scope: ptr(admissionregv1.ClusterScope),
	}}
}

// Mutating returns the pod-injection and CRD-defaulting webhooks.
func Mutating(o Options) *admissionregv1.MutatingWebhookConfiguration {
	fail, none, ifNeeded := admissionregv1.Fail, admissionregv1.SideEffectClassNone, admissionregv1.IfNeededReinvocationPolicy
	podRule := []admissionregv1.RuleWithOperations{{Operations: []admissionregv1.OperationType{admissionregv1.Create}, Rule: admissionregv1.Rule{
		APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: ptr(admissionregv1.NamespacedScope)}}}
	base := func(name, path string, rules []admissionregv1.RuleWithOperations) admissionregv1.MutatingWebhook {
		return admissionregv1.MutatingWebhook{
			Name: name, ClientConfig: o.client(path), Rules: rules, FailurePolicy: &fail, SideEffects: &none,
			TimeoutSeconds: o.timeout(), AdmissionReviewVersions: []string{"v1"}, ReinvocationPolicy: &ifNeeded,
			MatchPolicy: ptr(admissionregv1.Equivalent),
		}
	}
	pods := base("pods.inject.railnet.io", MutatePodPath, podRule)
	pods.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{o.notExcluded()}}
	pods.MatchConditions = []admissionregv1.MatchCondition{{Name: "pod-names-inject-group", Expression: podAnnotated}}
	nsPods := base("namespaces.inject.railnet.io", MutatePodPath, podRule)
	nsPods.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: NamespaceLabel, Operator: metav1.LabelSelectorOpExists}, o.notExcluded()}}
	nsPods.MatchConditions = []admissionregv1.MatchCondition{{Name: "pod-does-not-name-inject-group", Expression: "!(" + podAnnotated + ")"}}
	pools := base("spiderippools.mutate.railnet.io", MutateSpiderIPPoolPath, []admissionregv1.RuleWithOperations{
		crdRule("spiderippools", admissionregv1.Create, admissionregv1.Update)})
	smcs := base("spidermultusconfigs.mutate.railnet.io", MutateSpiderMultusConfigPath, []admissionregv1.RuleWithOperations{
		crdRule("spidermultusconfigs", admissionregv1.Create, admissionregv1.Update)})
	smcs.Rules[0].Scope = ptr(admissionregv1.NamespacedScope)
	return &admissionregv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Webhooks:   []admissionregv1.MutatingWebhook{pods, nsPods, pools, smcs},
	}
}

// Validating returns the CRD-validating webhooks (run after every mutating
// webhook, and on pool deletion).
func Validating(o Options) *admissionregv1.ValidatingWebhookConfiguration {
	fail, none := admissionregv1.Fail, admissionregv1.SideEffectClassNone
	base := func(name, path string, rule admissionregv1.RuleWithOperations) admissionregv1.ValidatingWebhook {
		return admissionregv1.ValidatingWebhook{
			Name: name, ClientConfig: o.client(path), Rules: []admissionregv1.RuleWithOperations{rule},
			FailurePolicy: &fail, SideEffects: &none, TimeoutSeconds: o.timeout(), AdmissionReviewVersions: []string{"v1"},
			MatchPolicy: ptr(admissionregv1.Equivalent),
		}
	}
	smcRule := crdRule("spidermultusconfigs", admissionregv1.Create, admissionregv1.Update)
	smcRule.Scope = ptr(admissionregv1.NamespacedScope)
	return &admissionregv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Webhooks: []admissionregv1.ValidatingWebhook{
			base("spiderippools.validate.railnet.io", ValidateSpiderIPPoolPath, crdRule("spiderippools", admissionregv1.Create, admissionregv1.Update, admissionregv1.Delete)),
			base("spidermultusconfigs.validate.railnet.io", ValidateSpiderMultusConfigPath, smcRule),
		},
	}
}

// YAML renders both configurations as one multi-document YAML file.
func YAML(o Options) ([]byte, error) {
	m, err := yaml.Marshal(Mutating(o))
	if err != nil {
		return nil, fmt.Errorf("marshal MutatingWebhookConfiguration: %w", err)
	}
	v, err := yaml.Marshal(Validating(o))
	if err != nil {
		return nil, fmt.Errorf("marshal ValidatingWebhookConfiguration: %w", err)
	}
	return append(append(m, []byte("---\n")...), v...), nil
}

func ptr[T any](v T) *T { return &v }
