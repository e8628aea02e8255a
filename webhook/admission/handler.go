package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	gojson "github.com/goccy/go-json"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"time"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
	"github.com/railnet/railnet/webhook/validate"
)

// Store is what the handler reads from the cluster (an informer cache in the
// service).
type Store interface {
	// InjectConfig is the current podResourceInject configuration.
	InjectConfig(ctx context.Context) (inject.Config, error)
	// NamespaceAnnotations returns the annotations of namespace name (read
	// only: they may be the cache's own map).
	NamespaceAnnotations(ctx context.Context, name string) (map[string]string, error)
	// MultusConfigs returns every SpiderMultusConfig of the cluster (read
	// only: the slice may be shared between requests).
	MultusConfigs(ctx context.Context) ([]*spiderv2beta1.SpiderMultusConfig, error)
	// IPPools returns every SpiderIPPool.
	IPPools(ctx context.Context) ([]spiderv2beta1.SpiderIPPool, error)
	// AllocatedIPs returns the addresses of pool that are allocated.
	AllocatedIPs(ctx context.Context, pool string) ([]netip.Addr, error)
	// ClaimTemplateExists reports whether the ResourceClaimTemplate
	// namespace/name exists (DRA mode).
	ClaimTemplateExists(ctx context.Context, namespace, name string) (bool, error)
}

// Recorder counts outcomes; webhook/metrics implements it.
type Recorder interface {
	Request(endpoint, kind, outcome string, took time.Duration)
	Injected(group string)
	Refused(reason string)
}

// Handler holds the logic behind the /mutate and /validate endpoints.
type Handler struct {
	Store   Store
	Metrics Recorder
}

// Refusal reasons of the CRD webhooks and infrastructure failures.
const (
	ReasonInvalidPool   = "invalid-ippool"
	ReasonPoolInUse     = "ippool-in-use"
	ReasonInvalidConfig = "invalid-multusconfig"
	ReasonBadObject     = "undecodable-object"
	ReasonStore         = "cluster-read-failed"
)

var (
	podKind  = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	poolKind = metav1.GroupVersionKind{Group: spiderv2beta1.GroupVersion.Group, Version: spiderv2beta1.GroupVersion.Version, Kind: "SpiderIPPool"}
	smcKind  = metav1.GroupVersionKind{Group: spiderv2beta1.GroupVersion.Group, Version: spiderv2beta1.GroupVersion.Version, Kind: "SpiderMultusConfig"}
)

// Mutate answers a request sent to the mutating webhook.
func (h *Handler) Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	switch {
	case req.Kind == podKind && req.Operation == admissionv1.Create:
		return h.mutatePod(ctx, req)
	case req.Kind == poolKind && (req.Operation == admissionv1.Create || req.Operation == admissionv1.Update):
		return h.mutatePool(ctx, req)
	case req.Kind == smcKind && (req.Operation == admissionv1.Create || req.Operation == admissionv1.Update):
		return h.mutateMultusConfig(ctx, req)
	}
	return allowed(req)
}

// Validate answers a request sent to the validating webhook.
func (h *Handler) Validate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	switch {
	case req.Kind == poolKind && req.Operation == admissionv1.Delete:
		var pool spiderv2beta1.SpiderIPPool
		if err := json.Unmarshal(req.OldObject.Raw, &pool); err != nil {
			return h.deny(req, ReasonBadObject, http.StatusBadRequest, fmt.Errorf("decode SpiderIPPool %s: %w", req.Name, err))
		}
		inUse, err := h.Store.AllocatedIPs(ctx, pool.Name)
		if err != nil {
			return h.storeError(req, err)
		}
		if err := validate.ValidatePoolDelete(&pool, inUse); err != nil {
			return h.deny(req, ReasonPoolInUse, http.StatusForbidden, err)
		}
	case req.Kind == poolKind && (req.Operation == admissionv1.Create || req.Operation == admissionv1.Update):
		var pool spiderv2beta1.SpiderIPPool
		if err := json.Unmarshal(req.Object.Raw, &pool); err != nil {
			return h.deny(req, ReasonBadObject, http.StatusBadRequest, fmt.Errorf("decode SpiderIPPool %s: %w", req.Name, err))
		}
		if resp := h.checkPool(ctx, req, &pool); resp != nil {
			return resp
		}
	case req.Kind == smcKind && (req.Operation == admissionv1.Create || req.Operation == admissionv1.Update):
		var smc spiderv2beta1.SpiderMultusConfig
		if err := json.Unmarshal(req.Object.Raw, &smc); err != nil {
			return h.deny(req, ReasonBadObject, http.StatusBadRequest, fmt.Errorf("decode SpiderMultusConfig %s/%s: %w", req.Namespace, req.Name, err))
		}
		if err := validate.ValidateMultusConfig(&smc); err != nil {
			return h.deny(req, ReasonInvalidConfig, http.StatusForbidden, err)
		}
	}
	return allowed(req)
}

func (h *Handler) mutatePod(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	// Decode only what injection reads; a pod without an inject
	// annotation (nor one on its namespace) costs this decode and two
	// cache reads.
	var fields podFields
	if err := gojson.Unmarshal(req.Object.Raw, &fields); err != nil {
		return h.deny(req, ReasonBadObject, http.StatusBadRequest, fmt.Errorf("decode pod: %w", decodePodError(req.Object.Raw, err)))
	}
	cfg, err := h.Store.InjectConfig(ctx)
	if err != nil {
		return h.storeError(req, err)
	}
	ns := req.Namespace
	if !cfg.Applies(ns) {
		return allowed(req)
	}
	var nsAnn map[string]string
	if !injectgroup.Names(fields.annotations()) {
		// The pod names no group itself; its namespace may.
		if nsAnn, err = h.Store.NamespaceAnnotations(ctx, ns); err != nil {
			return h.storeError(req, err)
		}
		if !injectgroup.Names(nsAnn) {
			return allowed(req)
		}
	}
	configs, err := h.Store.MultusConfigs(ctx)
	if err != nil {
		return h.storeError(req, err)
	}
	pod := fields.pod()
	pod.Namespace = ns
	// DRA mode only where some SpiderMultusConfig carries a mode: the
	// device-plugin path pays one map lookup per config for it.
	if slices.ContainsFunc(configs, drainject.HasMode) {
		if ir, ok := injectgroup.Lookup(pod.Annotations, nsAnn); ok {
			g, err := drainject.Resolve(ir, configs, drainject.PodRef(pod))
			if err != nil {
				return h.refuse(req, err)
			}
			if g != nil {
				return h.mutatePodDRA(ctx, req, &fields, pod, ir, g, configs)
			}
		}
	}
	res, err := inject.Pod(pod, nsAnn, cfg, configs)
	var refusal *inject.Refusal
	if errors.As(err, &refusal) {
		return h.deny(req, refusal.Reason, http.StatusForbidden, refusal)
	}
	if err != nil {
		return h.deny(req, "inject-failed", http.StatusInternalServerError, err)
	}
	if res == nil {
		return allowed(req)
	}
	resp := allowed(req)
	patch, err := podPatch(&fields, pod)
	if err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Code: http.StatusInternalServerError, Message: fmt.Sprintf("encode patch: %v", err)}
		return resp
	}
	if patch != nil {
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = patch, &pt
		if h.Metrics != nil {
			h.Metrics.Injected(res.Request.Value)
		}
	}
	if log := klog.FromContext(ctx).V(2); log.Enabled() {
		log.Info("pod injected", "namespace", ns, "pod", podName(pod),
			"group", res.Request.Value, "networks", len(res.Networks), "resources", len(res.Resources), "container", res.Container)
	}
	return resp
}

// decodePodError returns the error decoding raw as a full corev1.Pod gives
// (it names the Kubernetes field and type), or err if that decode succeeds.
// Only refused objects pay for it.
func decodePodError(raw []byte, err error) error {
	var pod corev1.Pod
	if full := json.Unmarshal(raw, &pod); full != nil {
		return full
	}
	return err
}

func (h *Handler) mutatePool(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	var pool spiderv2beta1.SpiderIPPool
	if err := json.Unmarshal(req.Object.Raw, &pool); err != nil {
		return h.deny(req, ReasonBadObject, http.StatusBadRequest, fmt.Errorf("decode SpiderIPPool %s: %w", req.Name, err))
	}
	warnings := validate.DefaultPool(&pool)
	if resp := h.checkPool(ctx, req, &pool); resp != nil {
		return resp
	}
	configs, err := h.Store.MultusConfigs(ctx)
	if err != nil {
		return h.storeError(req, err)
	}
	pools, err := h.Store.IPPools(ctx)
	if err != nil {
		return h.storeError(req, err)
	}
	warnings = append(warnings, validate.SharedSubnetPoolWarnings(&pool, configs, pools)...)
	return patched(req, &pool, warnings)
}

// checkPool validates pool against the other pools and its allocations; nil
// means valid.
func (h *Handler) checkPool(ctx context.Context, req *admissionv1.AdmissionRequest, pool *spiderv2beta1.SpiderIPPool) *admissionv1.AdmissionResponse {
	others, err := h.Store.IPPools(ctx)
	if err != nil {
		return h.storeError(req, err)
	}
	var old *spiderv2beta1.SpiderIPPool
	var inUse []netip.Addr
	if req.Operation == admissionv1.Update {
		old = &spiderv2beta1.SpiderIPPool{}
		if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
			return h.deny(req, ReasonBadObject, http.StatusBadRequest, fmt.Errorf("decode old SpiderIPPool %s: %w", req.Name, err))
		}
		if inUse, err = h.Store.AllocatedIPs(ctx, pool.Name); err != nil {
			return h.storeError(req, err)
		}
	}
	if err := validate.ValidatePool(pool, old, others, inUse); err != nil {
		return h.deny(req, ReasonInvalidPool, http.StatusForbidden, err)
	}
	return nil
}

func (h *Handler) mutateMultusConfig(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	var smc spiderv2beta1.SpiderMultusConfig
	if err := json.Unmarshal(req.Object.Raw, &smc); err != nil {
		return h.deny(req, ReasonBadObject, http.StatusBadRequest, fmt.Errorf("decode SpiderMultusConfig %s/%s: %w", req.Namespace, req.Name, err))
	}
	origNS := smc.Namespace
	if smc.Namespace == "" {
		smc.Namespace = req.Namespace // for messages only
	}
	warnings, err := validate.DefaultMultusConfig(&smc)
	if err == nil {
		err = validate.ValidateMultusConfig(&smc)
	}
	if err != nil {
		resp := h.deny(req, ReasonInvalidConfig, http.StatusForbidden, err)
		resp.Warnings = warnings
		return resp
	}
	configs, err := h.Store.MultusConfigs(ctx)
	if err != nil {
		return h.storeError(req, err)
	}
	pools, err := h.Store.IPPools(ctx)
	if err != nil {
		return h.storeError(req, err)
	}
	warnings = append(warnings, validate.SharedSubnetWarnings(&smc, configs, pools)...)
	smc.Namespace = origNS
	return patched(req, &smc, warnings)
}

// patched answers allowed with a JSON patch from the request's object to
// after.
func patched(req *admissionv1.AdmissionRequest, after any, warnings []string) *admissionv1.AdmissionResponse {
	resp := allowed(req)
	resp.Warnings = warnings
	raw, err := json.Marshal(after)
	if err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Code: http.StatusInternalServerError, Message: fmt.Sprintf("encode mutated object: %v", err)}
		return resp
	}
	ops, err := jsonpatch.CreatePatch(req.Object.Raw, raw)
	if err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Code: http.StatusInternalServerError, Message: fmt.Sprintf("compute patch: %v", err)}
		return resp
	}
	if len(ops) == 0 {
		return resp
	}
	// Deterministic order; our mutations never touch several indexes of
	// one array, so sorting by path keeps the patch's meaning.
	sort.Stable(jsonpatch.ByPath(ops))
	patch, err := json.Marshal(ops)
	if err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Code: http.StatusInternalServerError, Message: fmt.Sprintf("encode patch: %v", err)}
		return resp
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	return resp
}

func allowed(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
}

func (h *Handler) deny(req *admissionv1.AdmissionRequest, reason string, code int32, err error) *admissionv1.AdmissionResponse {
	if h.Metrics != nil {
		h.Metrics.Refused(reason)
	}
	return &admissionv1.AdmissionResponse{UID: req.UID, Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: metav1.StatusReason(reason), Message: err.Error(),
	}}
}

func (h *Handler) storeError(req *admissionv1.AdmissionRequest, err error) *admissionv1.AdmissionResponse {
	return h.deny(req, ReasonStore, http.StatusInternalServerError,
		fmt.Errorf("railnet webhook cannot read the cluster state (%w); retry shortly", err))
}

func podName(p *corev1.Pod) string {
	if p.Name != "" {
		return p.Name
	}
	return p.GenerateName
}
