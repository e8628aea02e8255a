package registration

import (
	"slices"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/railnet/railnet/api/golden"
)

func TestYAMLGolden(t *testing.T) {
	got, err := YAML(Options{Name: "railnet-webhook", CABundle: []byte("CA"),
		Service: &admissionregv1.ServiceReference{Namespace: "railnet", Name: "railnet-webhook"}})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/registration.yaml", got)
}

func TestURLClientConfig(t *testing.T) {
	m := Mutating(Options{Name: "x", URL: "https://127.0.0.1:9443"})
	if got := *m.Webhooks[0].ClientConfig.URL; got != "https://127.0.0.1:9443/mutate-pod" {
		t.Errorf("url = %s", got)
	}
	if m.Webhooks[0].ClientConfig.Service != nil {
		t.Errorf("service set")
	}
}

// Pods of kube-system and railnet's own namespace never reach the pod
// webhooks, whatever their annotations or their namespace's label say.
func TestPodWebhooksExcludeSystemNamespaces(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		excl []string
	}{
		{name: "service", o: Options{Name: "x", Service: &admissionregv1.ServiceReference{Namespace: "railnet", Name: "railnet-webhook"}},
			excl: []string{"kube-system", "railnet"}},
		{name: "url with namespace", o: Options{Name: "x", URL: "https://127.0.0.1:9443", Namespace: "netops"}, excl: []string{"kube-system", "netops"}},
		{name: "installed in kube-system", o: Options{Name: "x", Service: &admissionregv1.ServiceReference{Namespace: "kube-system", Name: "w"}},
			excl: []string{"kube-system"}},
		{name: "url only", o: Options{Name: "x", URL: "https://127.0.0.1:9443"}, excl: []string{"kube-system"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range Mutating(tt.o).Webhooks {
				if w.Rules[0].Resources[0] != "pods" {
					continue
				}
				sel, err := nsSelector(w.NamespaceSelector)
				if err != nil {
					t.Fatalf("%s: %v", w.Name, err)
				}
				for _, ns := range []string{"kube-system", "railnet", "netops", "ai"} {
					// Every label that could let the namespace in.
					l := labels.Set{corev1.LabelMetadataName: ns, NamespaceLabel: "rdma-network"}
					want := !slices.Contains(tt.excl, ns)
					if got := sel.Matches(l); got != want {
						t.Errorf("%s: namespace %s reaches the webhook = %v, want %v (selector %s)", w.Name, ns, got, want, sel)
					}
				}
			}
		})
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
