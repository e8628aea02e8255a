package admission

import (
	"context"
	"errors"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Typed admission: each kind's logic is a defaulter (the mutating webhook)
// and, where the validating webhook admits the kind, a validator, written
// against the typed object as controller-runtime's custom defaulter and
// validator are. They never see the review: mutating and validating decode
// the object with the kind's codec, call the typed method, compute the
// patch and map its refusal and warnings into the AdmissionResponse.

// defaulter is the mutating webhook's logic for objects of type T.
type defaulter[T any] interface {
	// Default changes obj in place and says what it did; an error refuses
	// the object (a *refusal names its reason and code). obj's namespace
	// is the request's.
	Default(ctx context.Context, obj *T) (mutation, error)
}

// validator is the validating webhook's logic for objects of type T: old
// is nil on CREATE, obj is nil on DELETE. An error refuses the object.
type validator[T any] interface {
	Validate(ctx context.Context, old, obj *T) (warnings []string, err error)
}

// mutation is what Default did besides changing its object.
type mutation struct {
	// Changed is false when Default left the object as decoded: the
	// answer then carries no patch and none is computed.
	Changed bool
	// Warnings go back to the user with the answer, a refusal included.
	Warnings []string
	// Injected is the inject group a pod was given; it is counted
	// (Recorder.Injected) when the answer carries a patch, so a pod
	// reviewed again after its injection does not count twice.
	Injected string
}

// refusal is an error that refuses an object with a reason (a metric
// label and the status reason) and an HTTP code; its message is err's.
type refusal struct {
	reason string
	code   int32
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// forbidden refuses an object the user must change (403).
func forbidden(reason string, err error) error {
	return &refusal{reason: reason, code: http.StatusForbidden, err: err}
}

// reasonInternal refuses what a typed method failed to do without naming
// a reason; no kind does so today.
const reasonInternal = "internal-error"

// codec reads objects of type T from a review (orig, as decode returns
// it, and the typed object made from it) and writes the JSON patch from
// the object as it came (raw and orig) to the object a defaulter left.
type codec[T, O any] interface {
	decode(raw []byte) (orig O, err error)
	object(orig O) *T
	// release gives back what object made, once the answer no longer
	// needs it (mutating: after the patch is written).
	release(obj *T)
	// meta is orig's namespace and annotations, for a leaver.
	meta(orig O) (namespace string, annotations map[string]string)
	patch(raw []byte, orig O, obj *T) ([]byte, error)
	// decodeError words the refusal of an object that does not decode;
	// old is true for the old object of an UPDATE.
	decodeError(req *admissionv1.AdmissionRequest, old bool, err error) error
}

// leaver is a defaulter that can tell from an object's namespace and
// annotations alone that Default would leave it as it is (as a webhook's
// namespace and object selectors let the apiserver tell, from labels):
// the wrapper then answers without making the typed object, which for a
// pod that asks for nothing took a sixth of the handler's time.
type leaver interface {
	Leaves(ctx context.Context, namespace string, annotations map[string]string) (bool, error)
}

// object is a pointer to a Kubernetes object of type T.
type object[T any] interface {
	*T
	GetNamespace() string
	SetNamespace(string)
	GetAnnotations() map[string]string
}

// jsonPatch is the PatchType of every patch; answers share it (they are
// only encoded).
var jsonPatch = admissionv1.PatchTypeJSONPatch

// mutating answers req with d's defaults for its object.
func mutating[T, O any, P object[T], C codec[T, O], D defaulter[T]](ctx context.Context, h *Handler,
	req *admissionv1.AdmissionRequest, c C, d D) *admissionv1.AdmissionResponse {
	orig, err := c.decode(req.Object.Raw)
	if err != nil {
		return h.deny(req, ReasonBadObject, http.StatusBadRequest, c.decodeError(req, false, err))
	}
	ns, annotations := c.meta(orig)
	if req.Namespace != "" {
		ns = req.Namespace // as useNamespace does
	}
	if l, ok := any(d).(leaver); ok {
		leave, err := l.Leaves(ctx, ns, annotations)
		if err != nil {
			return h.refuse(req, err)
		}
		if leave {
			return allowed(req)
		}
	}
	mem, _ := any(d).(rememberer[O])
	if mem != nil {
		if resp := mem.recall(ctx, req, ns, orig); resp != nil {
			return resp
		}
	}
	obj := c.object(orig)
	defer c.release(obj)
	restore := useNamespace(P(obj), req)
	m, err := d.Default(ctx, obj)
	P(obj).SetNamespace(restore)
	if err != nil {
		resp := h.refuse(req, err)
		resp.Warnings = m.Warnings
		return resp
	}
	resp := allowed(req)
	resp.Warnings = m.Warnings
	if m.Changed {
		patch, err := c.patch(req.Object.Raw, orig, obj)
		if err != nil {
			// Our own failure, not the object's: no refusal reason.
			resp.Allowed = false
			resp.Result = &metav1.Status{Code: http.StatusInternalServerError, Message: err.Error()}
			return resp
		}
		if patch != nil {
			resp.Patch, resp.PatchType = patch, &jsonPatch
			h.countInjected(resp, m.Injected)
		}
	}
	if mem != nil {
		mem.remember(resp, m)
	}
	return resp
}

// countInjected counts the injection of group, which resp's patch makes.
func (h *Handler) countInjected(resp *admissionv1.AdmissionResponse, group string) {
	if resp.Patch != nil && group != "" && h.Metrics != nil {
		h.Metrics.Injected(group)
	}
}

// rememberer is a defaulter that remembers its answers (memo.go): recall
// returns the answer remembered for an object like orig (namespace is the
// one Default sees), nil when there is none; the wrapper then calls
// Default, and remember with the answer, which allows the object.
type rememberer[O any] interface {
	recall(ctx context.Context, req *admissionv1.AdmissionRequest, namespace string, orig O) *admissionv1.AdmissionResponse
	remember(resp *admissionv1.AdmissionResponse, m mutation)
}

// validating answers req with v's verdict on its objects.
func validating[T, O any, P object[T], C codec[T, O], V validator[T]](ctx context.Context, h *Handler,
	req *admissionv1.AdmissionRequest, c C, v V) *admissionv1.AdmissionResponse {
	var obj *T
	if req.Operation != admissionv1.Delete {
		orig, err := c.decode(req.Object.Raw)
		if err != nil {
			return h.deny(req, ReasonBadObject, http.StatusBadRequest, c.decodeError(req, false, err))
		}
		obj = c.object(orig)
		useNamespace(P(obj), req)
	}
	old, err := decodeOld(req, c)
	if err != nil {
		return h.refuse(req, err)
	}
	warnings, err := v.Validate(ctx, old, obj)
	if err != nil {
		resp := h.refuse(req, err)
		resp.Warnings = warnings
		return resp
	}
	resp := allowed(req)
	resp.Warnings = warnings
	return resp
}

// decodeOld returns the old object of an UPDATE or DELETE, nil on other
// operations.
func decodeOld[T, O any, C codec[T, O]](req *admissionv1.AdmissionRequest, c C) (*T, error) {
	if req.Operation != admissionv1.Update && req.Operation != admissionv1.Delete {
		return nil, nil
	}
	orig, err := c.decode(req.OldObject.Raw)
	if err != nil {
		// On DELETE the old object is the one being admitted.
		return nil, &refusal{reason: ReasonBadObject, code: http.StatusBadRequest,
			err: c.decodeError(req, req.Operation == admissionv1.Update, err)}
	}
	return c.object(orig), nil
}

// useNamespace gives obj the request's namespace (when the request has
// one: the kind is namespaced) and returns the namespace it had, which
// the patch is computed with.
func useNamespace[P interface {
	GetNamespace() string
	SetNamespace(string)
}](obj P, req *admissionv1.AdmissionRequest) (had string) {
	had = obj.GetNamespace()
	if req.Namespace != "" {
		obj.SetNamespace(req.Namespace)
	}
	return had
}

// refuse denies req with err's reason and code (a *refusal's), or as an
// internal failure.
func (h *Handler) refuse(req *admissionv1.AdmissionRequest, err error) *admissionv1.AdmissionResponse {
	var r *refusal
	if !errors.As(err, &r) {
		r = &refusal{reason: reasonInternal, code: http.StatusInternalServerError, err: err}
	}
	return h.deny(req, r.reason, r.code, r.err)
}
