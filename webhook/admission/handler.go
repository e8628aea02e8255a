package admission

import (
	"context"
	"net/netip"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/inject"
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
	// only: the slice may be shared between requests). Neither the slice
	// nor its configs are ever changed once returned: a change is a new
	// list (the pod answers remembered for a list, memo.go, rely on it).
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

	memo answerMemo // pod answers remembered (memo.go)
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
		return mutating(ctx, h, req, podCodec{}, &pods{h: h})
	case req.Kind == poolKind && createOrUpdate(req):
		return mutating(ctx, h, req, poolCodec, ipPools{h.Store, req})
	case req.Kind == smcKind && createOrUpdate(req):
		return mutating(ctx, h, req, multusConfigCodec, multusConfigs{h.Store})
	}
	return allowed(req)
}

// Validate answers a request sent to the validating webhook.
func (h *Handler) Validate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	switch {
	case req.Kind == poolKind && (createOrUpdate(req) || req.Operation == admissionv1.Delete):
		return validating(ctx, h, req, poolCodec, ipPools{h.Store, req})
	case req.Kind == smcKind && createOrUpdate(req):
		return validating(ctx, h, req, multusConfigCodec, multusConfigs{h.Store})
	}
	return allowed(req)
}

func createOrUpdate(req *admissionv1.AdmissionRequest) bool {
	return req.Operation == admissionv1.Create || req.Operation == admissionv1.Update
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
