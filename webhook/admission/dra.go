package admission

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
	"github.com/railnet/railnet/webhook/nad"
)

// defaultDRA injects a pod of an inject group in DRA mode
// (webhook/drainject): one claim pairing its GPUs with their affine rails,
// its GPU containers using it instead of their GPU limit, and the group's
// one network in its Multus annotation. The claim's template must exist in
// the pod's namespace.
func (p *pods) defaultDRA(ctx context.Context, pod *corev1.Pod, ir injectgroup.Request, g *drainject.Group,
	configs []*spiderv2beta1.SpiderMultusConfig) (mutation, error) {
	if ir.FromNamespace && drainject.GPUs(pod, drainject.GPUResource) == 0 {
		// A namespace-wide DRA group gives rails to the namespace's GPU
		// pods; its other pods are left as they are.
		return mutation{}, nil
	}
	if _, err := nad.DRARails(g.Name, g.Members, nad.RailMasters(configs)); err != nil {
		// The controller cannot render the group's network either.
		return mutation{}, injectRefusal(&inject.Refusal{Reason: drainject.ReasonMode, Message: fmt.Sprintf(
			"pod %s: %v; the group has no network until then", drainject.PodRef(pod), err)})
	}
	network := g.Network()
	out, template, changed, err := drainject.Plan(pod, g.Name, drainject.Options{GPUResource: drainject.GPUResource, Network: network})
	if err != nil {
		return mutation{}, injectRefusal(err)
	}
	if !changed {
		return mutation{}, nil
	}
	exists, err := p.h.Store.ClaimTemplateExists(ctx, pod.Namespace, template)
	if errors.Is(err, drainject.ErrDisabled) {
		return mutation{}, injectRefusal(drainject.Disabled(drainject.PodRef(pod), g.Name))
	}
	if err != nil {
		return mutation{}, storeFailed(err)
	}
	if !exists {
		return mutation{}, injectRefusal(drainject.MissingTemplate(drainject.PodRef(pod), pod.Namespace, g.Name, template))
	}
	out.Annotations[inject.AnnotationSummary] = drainject.Summary(ir, template, drainject.GPUs(pod, drainject.GPUResource), network)
	*pod = *out
	if log := klog.FromContext(ctx).V(2); log.Enabled() {
		log.Info("pod injected (DRA mode)", "namespace", pod.Namespace, "pod", podName(pod), "group", g.Name,
			"template", template, "network", network.Namespace+"/"+network.Name)
	}
	return mutation{Changed: true, Injected: g.Name}, nil
}
