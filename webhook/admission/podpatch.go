package admission

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// podFields is the part of a pod that injection reads or writes, decoded
// straight from the review's object: names for messages, annotations, the
// pod's resource claims, and each container's name and resources (with
// their claims, for DRA mode). Everything else is skipped, never
// decoded. Pointers record whether a member is present in the JSON, so the
// patch adds a missing map instead of writing into it.
type podFields struct {
	Metadata *struct {
		Name         string            `json:"name"`
		GenerateName string            `json:"generateName"`
		Namespace    string            `json:"namespace"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		// ResourceClaims is nil when the member is missing or null.
		ResourceClaims []corev1.PodResourceClaim `json:"resourceClaims"`
		Containers     []struct {
			Name      string `json:"name"`
			Resources *struct {
				Limits   corev1.ResourceList    `json:"limits"`
				Requests corev1.ResourceList    `json:"requests"`
				Claims   []corev1.ResourceClaim `json:"claims"`
			} `json:"resources"`
			// Env and VolumeMounts: injection reads them and appends to
			// them (the NCCL conf file, inject.AddNCCL).
			Env          []corev1.EnvVar      `json:"env"`
			VolumeMounts []corev1.VolumeMount `json:"volumeMounts"`
		} `json:"containers"`
		// Volumes: their names and host paths are all injection reads.
		Volumes []volumeFields `json:"volumes"`
	} `json:"spec"`
}

// volumeFields is what injection reads of a pod volume.
type volumeFields struct {
	Name     string                       `json:"name"`
	HostPath *corev1.HostPathVolumeSource `json:"hostPath"`
}

// annotations returns the pod's annotations (nil when it has none).
func (p *podFields) annotations() map[string]string {
	if p.Metadata == nil {
		return nil
	}
	return p.Metadata.Annotations
}

// pod returns a corev1.Pod holding p's fields, with its own copies of the
// maps injection writes, so p stays the original to patch from.
func (p *podFields) pod() *corev1.Pod {
	pod := &corev1.Pod{}
	if m := p.Metadata; m != nil {
		pod.Name, pod.GenerateName, pod.Namespace = m.Name, m.GenerateName, m.Namespace
		pod.Annotations = maps.Clone(m.Annotations)
	}
	pod.Spec.ResourceClaims = slices.Clone(p.Spec.ResourceClaims)
	pod.Spec.Containers = make([]corev1.Container, len(p.Spec.Containers))
	for i, c := range p.Spec.Containers {
		pod.Spec.Containers[i].Name = c.Name
		if r := c.Resources; r != nil {
			pod.Spec.Containers[i].Resources = corev1.ResourceRequirements{
				Limits: maps.Clone(r.Limits), Requests: maps.Clone(r.Requests), Claims: slices.Clone(r.Claims)}
		}
		pod.Spec.Containers[i].Env = slices.Clone(c.Env)
		pod.Spec.Containers[i].VolumeMounts = slices.Clone(c.VolumeMounts)
	}
	pod.Spec.Volumes = podVolumes(p.Spec.Volumes)
	return pod
}

// patchOp is one RFC 6902 operation.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// podPatch returns the JSON patch that turns the pod orig was decoded from
// into after, looking only at what injection may change: annotations, the
// containers' resource limits and requests, and (DRA mode) the pod's
// resource claims and the containers' claims. Maps missing from the
// original are added whole; keys are added, replaced or removed one by one,
// in key order. nil means no change.
func podPatch(orig *podFields, after *corev1.Pod) ([]byte, error) {
	var ops []patchOp
	if orig.Metadata == nil {
		if len(after.Annotations) > 0 {
			ops = append(ops, patchOp{Op: "add", Path: "/metadata", Value: map[string]any{"annotations": after.Annotations}})
		}
	} else {
		ops = mapOps(ops, "/metadata/annotations", orig.Metadata.Annotations, after.Annotations, func(a, b string) bool { return a == b })
	}
	for i, c := range orig.Spec.Containers {
		if i >= len(after.Spec.Containers) {
			break
		}
		res := after.Spec.Containers[i].Resources
		base := "/spec/containers/" + strconv.Itoa(i) + "/resources"
		if c.Resources == nil {
			v := map[string]corev1.ResourceList{}
			if len(res.Limits) > 0 {
				v["limits"] = res.Limits
			}
			if len(res.Requests) > 0 {
				v["requests"] = res.Requests
			}
			if len(v) > 0 {
				ops = append(ops, patchOp{Op: "add", Path: base, Value: v})
			}
			continue
		}
		ops = mapOps(ops, base+"/limits", c.Resources.Limits, res.Limits, resource.Quantity.Equal)
		ops = mapOps(ops, base+"/requests", c.Resources.Requests, res.Requests, resource.Quantity.Equal)
	}
	ops, err := listOps(ops, orig, after)
	if err != nil {
		return nil, err
	}
	ops = podClaimOps(ops, orig, after)
	ops = containerClaimOps(ops, orig, after)
	if len(ops) == 0 {
		return nil, nil
	}
	return encodeOps(ops)
}

// podClaimOps appends the operations adding the claims after has beyond
// the original's spec.resourceClaims: the whole list when the member is
// missing, else each new claim at the end. Injection only appends claims.
func podClaimOps(ops []patchOp, orig *podFields, after *corev1.Pod) []patchOp {
	before := orig.Spec.ResourceClaims
	if len(after.Spec.ResourceClaims) <= len(before) {
		return ops
	}
	if before == nil {
		return append(ops, patchOp{Op: "add", Path: "/spec/resourceClaims", Value: after.Spec.ResourceClaims})
	}
	for _, c := range after.Spec.ResourceClaims[len(before):] {
		ops = append(ops, patchOp{Op: "add", Path: "/spec/resourceClaims/-", Value: c})
	}
	return ops
}

// containerClaimOps appends the operations adding the claims each
// container has in after beyond its original resources.claims: the
// resources member with the claims when it is missing and the limits and
// requests operations did not add it, the claims list when it is missing,
// else each new claim at the end. Injection only appends claims.
func containerClaimOps(ops []patchOp, orig *podFields, after *corev1.Pod) []patchOp {
	for i, c := range orig.Spec.Containers {
		if i >= len(after.Spec.Containers) {
			break
		}
		var before []corev1.ResourceClaim
		if c.Resources != nil {
			before = c.Resources.Claims
		}
		res := &after.Spec.Containers[i].Resources
		if len(res.Claims) <= len(before) {
			continue
		}
		base := "/spec/containers/" + strconv.Itoa(i) + "/resources"
		switch {
		case c.Resources == nil && len(res.Limits) == 0 && len(res.Requests) == 0:
			ops = append(ops, patchOp{Op: "add", Path: base, Value: map[string][]corev1.ResourceClaim{"claims": res.Claims}})
		case before == nil:
			ops = append(ops, patchOp{Op: "add", Path: base + "/claims", Value: res.Claims})
		default:
			for _, cl := range res.Claims[len(before):] {
				ops = append(ops, patchOp{Op: "add", Path: base + "/claims/-", Value: cl})
			}
		}
	}
	return ops
}

// encodeOps writes ops as json.Marshal does, by hand for the values
// injection writes (strings and resource lists), which are all a pod
// injection patch carries.
func encodeOps(ops []patchOp) ([]byte, error) {
	size := 2
	for _, op := range ops {
		size += 48 + len(op.Path)
		switch v := op.Value.(type) {
		case string:
			size += len(v) + len(v)/8 // room for escapes
		case map[corev1.ResourceName]resource.Quantity:
			size += 48 * len(v)
		}
	}
	buf := make([]byte, 0, size)
	for i, op := range ops {
		if i == 0 {
			buf = append(buf, '[')
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"op":`...)
		buf = appendString(buf, op.Op)
		buf = append(buf, `,"path":`...)
		buf = appendString(buf, op.Path)
		if op.Value != nil {
			buf = append(buf, `,"value":`...)
			var err error
			if buf, err = appendValue(buf, op.Value); err != nil {
				return nil, err
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}

func appendValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendString(buf, v), nil
	case map[corev1.ResourceName]resource.Quantity: // mapOps' map, not named ResourceList
		return appendValue(buf, corev1.ResourceList(v))
	case corev1.ResourceList:
		keys := make([]corev1.ResourceName, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i == 0 {
				buf = append(buf, '{')
			} else {
				buf = append(buf, ',')
			}
			buf = appendString(buf, string(k))
			buf = append(buf, ':')
			q := v[k]
			buf = appendString(buf, q.String())
		}
		if len(keys) == 0 {
			buf = append(buf, '{')
		}
		return append(buf, '}'), nil
	}
	b, err := json.Marshal(v)
	return append(buf, b...), err
}

// appendString appends s as a JSON string, byte for byte as json.Marshal
// writes it: ASCII by hand (the networks annotation has quotes and
// newlines), anything else through json.Marshal.
func appendString(buf []byte, s string) []byte {
	start := len(buf)
	buf = append(buf, '"')
	plain := 0 // s[plain:i] is still to copy
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		buf = append(buf, s[plain:i]...)
		plain = i + 1
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c == '<' || c == '>' || c == '&':
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default: // other control characters and non-ASCII
			b, _ := json.Marshal(s) // cannot fail for a string
			return append(buf[:start], b...)
		}
	}
	buf = append(buf, s[plain:]...)
	return append(buf, '"')
}

const hex = "0123456789abcdef"

// mapOps appends the operations that turn the JSON object at path from
// before into after. A nil before is a missing (or null) member: the whole
// map is added.
func mapOps[K ~string, V any](ops []patchOp, path string, before, after map[K]V, equal func(V, V) bool) []patchOp {
	if before == nil {
		if len(after) > 0 {
			ops = append(ops, patchOp{Op: "add", Path: path, Value: after})
		}
		return ops
	}
	keys := make([]K, 0, len(after)+len(before))
	for k := range after {
		keys = append(keys, k)
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		old, had := before[k]
		v, has := after[k]
		switch {
		case !has:
			ops = append(ops, patchOp{Op: "remove", Path: path + "/" + escapePointer(string(k))})
		case !had:
			ops = append(ops, patchOp{Op: "add", Path: path + "/" + escapePointer(string(k)), Value: v})
		case !equal(old, v):
			ops = append(ops, patchOp{Op: "replace", Path: path + "/" + escapePointer(string(k)), Value: v})
		}
	}
	return ops
}

// pointerEscaper escapes a JSON-pointer reference token (RFC 6901): "~" is
// "~0" and "/" is "~1", so k8s.v1.cni.cncf.io/networks is
// k8s.v1.cni.cncf.io~1networks.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(s string) string { return pointerEscaper.Replace(s) }
