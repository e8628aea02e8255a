package rulebook

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/injectgroup/injectgrouptest"
	"github.com/railnet/railnet/extender/rails"
	"github.com/railnet/railnet/extender/state/statetest"
	"github.com/railnet/railnet/webhook/inject"
)

func TestWebhookAndExtenderAgree(t *testing.T) {
	for _, tc := range injectgrouptest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: injectgrouptest.PodNamespace, Name: injectgrouptest.PodName,
					Annotations: tc.PodAnnotations},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}},
			}
			cfg := tc.Config
			store := &statetest.MemStore{SMCs: tc.Configs, Inject: &cfg,
				NamespaceInject: map[string]map[string]string{injectgrouptest.PodNamespace: tc.NamespaceAnnotations}}

			// The extender sees the pod as the user wrote it (the webhook
			// has not run, or has skipped it) ...
			asked, extErr := rails.ForPod(pod.DeepCopy(), store)
			// ... and as the webhook leaves it.
			injected := pod.DeepCopy()
			res, hookErr := inject.Pod(injected, tc.NamespaceAnnotations, tc.Config, tc.Configs)

			switch {
			case tc.Reason != "":
				var r *inject.Refusal
				if !errors.As(hookErr, &r) || r.Reason != tc.Reason || r.Message != tc.Message {
					t.Fatalf("webhook: %v, want refusal %s: %s", hookErr, tc.Reason, tc.Message)
				}
				if extErr == nil || extErr.Error() != r.Message {
					t.Fatalf("extender: %v, %v\nwant the webhook's refusal\n%s", asked, extErr, r.Message)
				}
			case tc.Skip:
				if hookErr != nil || res != nil {
					t.Fatalf("webhook: %+v, %v; want the pod left alone", res, hookErr)
				}
				if extErr != nil || asked != nil {
					t.Fatalf("extender: %v, %v; want no rails for a pod the webhook leaves alone", asked, extErr)
				}
			default:
				if hookErr != nil {
					t.Fatalf("webhook: %v", hookErr)
				}
				if extErr != nil {
					t.Fatalf("extender: %v; the webhook injects %v", extErr, res.Networks)
				}
				var hookNets, extNets []string
				for _, n := range res.Networks {
					hookNets = append(hookNets, n.Namespace+"/"+n.Name)
				}
				var extRes []corev1.ResourceName
				for _, r := range asked {
					extNets = append(extNets, r.Network)
					if r.Resource != "" && !slices.Contains(extRes, r.Resource) {
						extRes = append(extRes, r.Resource)
					}
				}
				if !reflect.DeepEqual(hookNets, tc.Want) {
					t.Errorf("webhook injects %v, the table says %v", hookNets, tc.Want)
				}
				if !reflect.DeepEqual(extNets, hookNets) {
					t.Errorf("extender asks for %v, the webhook injects %v", extNets, hookNets)
				}
				if !slices.Equal(extRes, res.Resources) {
					t.Errorf("extender's resources %v, the webhook's %v", extRes, res.Resources)
				}
				after, err := rails.ForPod(injected, store)
				if err != nil || !reflect.DeepEqual(after, asked) {
					t.Errorf("extender on the injected pod: %v, %v; before injection %v", after, err, asked)
				}
			}
		})
	}
}
