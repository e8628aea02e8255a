package admission

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
	"github.com/railnet/railnet/webhook/nad"
)

// mutatePodDRA injects a pod of an inject group in DRA mode
// (webhook/drainject): one claim pairing its GPUs with their affine rails,
// its GPU containers using it instead of their GPU limit, and the group's
// one network in its Multus annotation. The claim's template must exist in
// the pod's namespace.
func (h *Handler) mutatePodDRA(ctx context.Context, req *admissionv1.AdmissionRequest, fields *podFields, pod *corev1.Pod,
	ir injectgroup.Request, g *drainject.Group, configs []*spiderv2beta1.SpiderMultusConfig) *admissionv1.AdmissionResponse {
	if ir.FromNamespace && drainject.GPUs(pod, drainject.GPUResource) == 0 {
		// A namespace-wide DRA group gives rails to the namespace's GPU
		// pods; its other pods are left as they are.
		return allowed(req)
	}
	if _, err := nad.DRARails(g.Name, g.Members, nad.RailMasters(configs)); err != nil {
		// The controller cannot render the group's network either.
		return h.refuse(req, &inject.Refusal{Reason: drainject.ReasonMode, Message: fmt.Sprintf(
			"pod %s: %v; the group has no network until then", drainject.PodRef(pod), err)})
	}
	network := g.Network()
	out, template, changed, err := drainject.Plan(pod, g.Name, drainject.Options{GPUResource: drainject.GPUResource, Network: network})
	if err != nil {
		return h.refuse(req, err)
	}
	if !changed {
		return allowed(req)
	}
	exists, err := h.Store.ClaimTemplateExists(ctx, pod.Namespace, template)
	if errors.Is(err, drainject.ErrDisabled) {
		return h.refuse(req, drainject.Disabled(drainject.PodRef(pod), g.Name))
	}
	if err != nil {
		return h.storeError(req, err)
	}
	if !exists {
		return h.refuse(req, drainject.MissingTemplate(drainject.PodRef(pod), pod.Namespace, g.Name, template))
	}
	out.Annotations[inject.AnnotationSummary] = drainject.Summary(ir, template, drainject.GPUs(pod, drainject.GPUResource), network)
	resp := allowed(req)
	patch, err := podPatch(fields, out)
	if err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Code: http.StatusInternalServerError, Message: fmt.Sprintf("encode patch: %v", err)}
		return resp
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	if h.Metrics != nil {
		h.Metrics.Injected(g.Name)
	}
	if log := klog.FromContext(ctx).V(2); log.Enabled() {
		log.Info("pod injected (DRA mode)", "namespace", pod.Namespace, "pod", podName(pod), "group", g.Name,
			"template", template, "network", network.Namespace+"/"+network.Name)
	}
	return resp
}

// refuse denies with a *inject.Refusal's reason and message; any other
// error is an internal failure.
func (h *Handler) refuse(req *admissionv1.AdmissionRequest, err error) *admissionv1.AdmissionResponse {
	var refusal *inject.Refusal
	if errors.As(err, &refusal) {
		return h.deny(req, refusal.Reason, http.StatusForbidden, refusal)
	}
	return h.deny(req, "inject-failed", http.StatusInternalServerError, err)
}
