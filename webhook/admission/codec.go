package admission

import (
	"encoding/json"
	"fmt"
	"sort"

	gojson "github.com/goccy/go-json"
	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
)

// podCodec reads a pod as podFields, only what injection reads (see
// doc.go for why through goccy/go-json), and writes the few operations
// injection makes (podPatch).
type podCodec struct{}

func (podCodec) decode(raw []byte) (*podFields, error) {
	fields := new(podFields)
	if err := gojson.Unmarshal(raw, fields); err != nil {
		return nil, decodePodError(raw, err)
	}
	return fields, nil
}

func (podCodec) object(fields *podFields) *corev1.Pod { return fields.pod() }

func (podCodec) release(pod *corev1.Pod) { releasePod(pod) }

func (podCodec) meta(fields *podFields) (string, map[string]string) {
	if fields.Metadata == nil {
		return "", nil
	}
	return fields.Metadata.Namespace, fields.Metadata.Annotations
}

func (podCodec) patch(_ []byte, orig *podFields, pod *corev1.Pod) ([]byte, error) {
	patch, err := podPatch(orig, pod)
	if err != nil {
		return nil, fmt.Errorf("encode patch: %v", err)
	}
	return patch, nil
}

func (podCodec) decodeError(_ *admissionv1.AdmissionRequest, _ bool, err error) error {
	return fmt.Errorf("decode pod: %w", err)
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

// objectCodec reads a whole object of type T with encoding/json and
// writes the patch as a diff of the object before and after.
type objectCodec[T any, P object[T]] struct {
	// namespaced names the object namespace/name in messages.
	namespaced bool
}

func (objectCodec[T, P]) decode(raw []byte) (*T, error) {
	obj := new(T)
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func (objectCodec[T, P]) object(obj *T) *T { return obj }

func (objectCodec[T, P]) release(*T) {}

func (objectCodec[T, P]) meta(obj *T) (string, map[string]string) {
	return P(obj).GetNamespace(), P(obj).GetAnnotations()
}

func (c objectCodec[T, P]) decodeError(req *admissionv1.AdmissionRequest, old bool, err error) error {
	what, name := req.Kind.Kind, req.Name
	if old {
		what = "old " + what
	}
	if c.namespaced {
		name = req.Namespace + "/" + name
	}
	return fmt.Errorf("decode %s %s: %w", what, name, err)
}

// patch returns the JSON patch from raw to after, nil when they do not
// differ.
func (objectCodec[T, P]) patch(raw []byte, _, after *T) ([]byte, error) {
	b, err := json.Marshal(after)
	if err != nil {
		return nil, fmt.Errorf("encode mutated object: %v", err)
	}
	ops, err := jsonpatch.CreatePatch(raw, b)
	if err != nil {
		return nil, fmt.Errorf("compute patch: %v", err)
	}
	if len(ops) == 0 {
		return nil, nil
	}
	// Deterministic order; our mutations never touch several indexes of
	// one array, so sorting by path keeps the patch's meaning.
	sort.Stable(jsonpatch.ByPath(ops))
	patch, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encode patch: %v", err)
	}
	return patch, nil
}
