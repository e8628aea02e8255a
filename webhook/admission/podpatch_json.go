package admission

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/railnet/railnet/api/jsonw"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The pod patch is written as JSON text directly, byte for byte as
// json.Marshal writes a list of {"op","path","value"} objects: the values
// injection writes (strings, resource lists, NCCL's env entries, mount and
// hostPath volume, DRA's claims) by hand, anything else a pod's list may
// hold through json.Marshal. TestPatchValuesJSON holds each writer to
// json.Marshal's output for values with every field set and with each one
// alone, so a field Kubernetes adds to one of these types fails it.

// patchWriter accumulates a patch's operations. It stays on its caller's
// stack: the value writers below take and return the buffer, not the
// writer, so appending to it needs no GC write barrier.
type patchWriter struct {
	buf []byte
	n   int   // operations written
	err error // of a value written through json.Marshal
}

// jsonPointer is a JSON pointer injection writes to: path, after
// /spec/containers/<container> when container ≥ 0. path is a constant with
// nothing to escape.
type jsonPointer struct {
	container int
	path      string
}

func podPtr(path string) jsonPointer              { return jsonPointer{container: -1, path: path} }
func containerPtr(i int, path string) jsonPointer { return jsonPointer{container: i, path: path} }
func (w *patchWriter) rawString(s string)         { w.buf = append(w.buf, s...) }
func (w *patchWriter) end()                       { w.buf = append(w.buf, '}') }
func (w *patchWriter) endNoValue()                { w.buf = append(w.buf, `"}`...) }
func (w *patchWriter) value()                     { w.buf = append(w.buf, `","value":`...) }

// put takes back the buffer a value writer returned.
func (w *patchWriter) put(buf []byte, err error) {
	w.buf = buf
	if err != nil && w.err == nil {
		w.err = err
	}
}

// begin opens operation op on p; key (reference tokens after p), then
// value and the value's text then end, or endNoValue, complete it.
func (w *patchWriter) begin(op string, p jsonPointer) {
	if w.n == 0 {
		w.buf = append(w.buf, '[')
	} else {
		w.buf = append(w.buf, ',')
	}
	w.n++
	w.buf = append(w.buf, `{"op":"`...)
	w.buf = append(w.buf, op...)
	w.buf = append(w.buf, `","path":"`...)
	if p.container >= 0 {
		w.buf = append(w.buf, "/spec/containers/"...)
		w.buf = strconv.AppendInt(w.buf, int64(p.container), 10)
	}
	w.buf = append(w.buf, p.path...)
}

// key appends "/" and the reference token k (RFC 6901: "~" is "~0", "/"
// is "~1"), JSON-escaped, to the path begun.
func (w *patchWriter) key(k string) {
	w.buf = append(w.buf, '/')
	w.buf = jsonw.PointerToken(w.buf, k)
}

// patch returns the operations as a JSON list, nil when there are none.
func (w *patchWriter) patch() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.n == 0 {
		return nil, nil
	}
	return append(w.buf, ']'), nil
}

// The value writers append a value's JSON to buf and return it.

func appendStringValue(buf []byte, s string) ([]byte, error) { return jsonw.String(buf, s), nil }
func appendQuantity(buf []byte, q resource.Quantity) ([]byte, error) {
	return jsonw.String(buf, q.String()), nil
}

// repeats writes strings into one buffer as appendStringValue does, and
// copies the text it wrote for the previous string when the same string
// comes again: injection writes the networks annotation and its record of
// it (inject.AnnotationInjected) with the same text, a few hundred bytes
// of JSON to escape. Every call must pass the buffer the earlier ones
// returned, grown only by appending.
type repeats struct {
	last     string
	from, to int // where last's text is in the buffer
}

func (r *repeats) appendString(buf []byte, s string) ([]byte, error) {
	if r.to > r.from && r.to <= len(buf) && s == r.last {
		return append(buf, buf[r.from:r.to]...), nil
	}
	r.from = len(buf)
	buf = appendEscaped(buf, s)
	r.last, r.to = s, len(buf)
	return buf, nil
}

// escaped remembers, across reviews, the JSON text of the long strings
// patches write: the networks annotation and injection's summary are the
// same for every pod of an inject group, a few hundred bytes each to
// escape (a tenth of Handler.Mutate's time for an 8-rail pod). It holds
// strings of escapedMinLen to escapedMaxLen bytes, at most escapedMax of
// them (then it starts again): under 600 KiB.
var escaped struct {
	sync.RWMutex
	text map[string]string
}

const escapedMinLen, escapedMaxLen, escapedMax = 128, 4 << 10, 64

// appendEscaped appends s as a JSON string, as jsonw.String does.
func appendEscaped(buf []byte, s string) []byte {
	if len(s) < escapedMinLen || len(s) > escapedMaxLen {
		return jsonw.String(buf, s)
	}
	escaped.RLock()
	t, ok := escaped.text[s]
	escaped.RUnlock()
	if ok {
		return append(buf, t...)
	}
	from := len(buf)
	buf = jsonw.String(buf, s)
	escaped.Lock()
	if len(escaped.text) >= escapedMax || escaped.text == nil {
		escaped.text = make(map[string]string, escapedMax)
	}
	// s may share the memory of a whole review body: the cache keeps a
	// copy.
	escaped.text[strings.Clone(s)] = string(buf[from:])
	escaped.Unlock()
	return buf
}

// appendJSON writes v through json.Marshal, for values beyond what the
// writers here know.
func appendJSON(buf []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(buf, b...), err
}

// appendMap writes m as json.Marshal does: keys in order.
func appendMap[K ~string, V any](buf []byte, m map[K]V, enc func([]byte, V) ([]byte, error)) ([]byte, error) {
	var small [16]K // a pod's maps are small: their keys stay on the stack
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = append(buf, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsonw.String(buf, string(k))
		buf = append(buf, ':')
		if buf, err = enc(buf, m[k]); err != nil {
			return buf, err
		}
	}
	return append(buf, '}'), nil
}

// appendList writes l as a JSON array (never null: an empty list is []).
func appendList[V any](buf []byte, l []V, enc func([]byte, V) ([]byte, error)) ([]byte, error) {
	buf = append(buf, '[')
	var err error
	for i, v := range l {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = enc(buf, v); err != nil {
			return buf, err
		}
	}
	return append(buf, ']'), nil
}

// appendResources writes a container's resources member holding its
// non-empty limits and requests.
func appendResources(buf []byte, limits, requests corev1.ResourceList) ([]byte, error) {
	buf = append(buf, '{')
	if len(limits) > 0 {
		buf = append(buf, `"limits":`...)
		buf, _ = appendMap(buf, limits, appendQuantity) // quantities cannot fail
	}
	if len(requests) > 0 {
		if len(limits) > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `"requests":`...)
		buf, _ = appendMap(buf, requests, appendQuantity)
	}
	return append(buf, '}'), nil
}

// appendEnv writes an env entry; by hand when its value is literal or from
// a field of the pod (NCCL's entries), else through json.Marshal.
func appendEnv(buf []byte, e corev1.EnvVar) ([]byte, error) {
	if e != (corev1.EnvVar{Name: e.Name, Value: e.Value, ValueFrom: e.ValueFrom}) ||
		e.ValueFrom != nil && (*e.ValueFrom != corev1.EnvVarSource{FieldRef: e.ValueFrom.FieldRef} ||
			e.ValueFrom.FieldRef != nil && *e.ValueFrom.FieldRef != corev1.ObjectFieldSelector{
				APIVersion: e.ValueFrom.FieldRef.APIVersion, FieldPath: e.ValueFrom.FieldRef.FieldPath}) {
		return appendJSON(buf, e)
	}
	buf = append(buf, `{"name":`...)
	buf = jsonw.String(buf, e.Name)
	if e.Value != "" {
		buf = append(buf, `,"value":`...)
		buf = jsonw.String(buf, e.Value)
	}
	if e.ValueFrom != nil {
		buf = append(buf, `,"valueFrom":{`...)
		if f := e.ValueFrom.FieldRef; f != nil {
			buf = append(buf, `"fieldRef":{`...)
			if f.APIVersion != "" {
				buf = append(buf, `"apiVersion":`...)
				buf = jsonw.String(buf, f.APIVersion)
				buf = append(buf, ',')
			}
			buf = append(buf, `"fieldPath":`...)
			buf = jsonw.String(buf, f.FieldPath)
			buf = append(buf, '}')
		}
		buf = append(buf, '}')
	}
	return append(buf, '}'), nil
}

// appendMount writes a volume mount, every field by hand.
func appendMount(buf []byte, m corev1.VolumeMount) ([]byte, error) {
	buf = append(buf, `{"name":`...)
	buf = jsonw.String(buf, m.Name)
	if m.ReadOnly {
		buf = append(buf, `,"readOnly":true`...)
	}
	if m.RecursiveReadOnly != nil {
		buf = append(buf, `,"recursiveReadOnly":`...)
		buf = jsonw.String(buf, string(*m.RecursiveReadOnly))
	}
	buf = append(buf, `,"mountPath":`...)
	buf = jsonw.String(buf, m.MountPath)
	if m.SubPath != "" {
		buf = append(buf, `,"subPath":`...)
		buf = jsonw.String(buf, m.SubPath)
	}
	if m.MountPropagation != nil {
		buf = append(buf, `,"mountPropagation":`...)
		buf = jsonw.String(buf, string(*m.MountPropagation))
	}
	if m.SubPathExpr != "" {
		buf = append(buf, `,"subPathExpr":`...)
		buf = jsonw.String(buf, m.SubPathExpr)
	}
	if len(m.BindMountOptions) > 0 {
		buf = append(buf, `,"bindMountOptions":`...)
		buf, _ = appendList(buf, m.BindMountOptions, appendStringValue) // strings cannot fail
	}
	return append(buf, '}'), nil
}

// appendVolume writes a pod volume; by hand when it is a hostPath (NCCL's),
// else through json.Marshal.
func appendVolume(buf []byte, v corev1.Volume) ([]byte, error) {
	hp := v.HostPath
	if hp == nil || v != (corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{HostPath: hp}}) ||
		*hp != (corev1.HostPathVolumeSource{Path: hp.Path, Type: hp.Type}) {
		return appendJSON(buf, v)
	}
	buf = append(buf, `{"name":`...)
	buf = jsonw.String(buf, v.Name)
	buf = append(buf, `,"hostPath":{"path":`...)
	buf = jsonw.String(buf, hp.Path)
	if hp.Type != nil {
		buf = append(buf, `,"type":`...)
		buf = jsonw.String(buf, string(*hp.Type))
	}
	return append(buf, `}}`...), nil
}

// appendClaim writes a container's resource claim.
func appendClaim(buf []byte, c corev1.ResourceClaim) ([]byte, error) {
	if c != (corev1.ResourceClaim{Name: c.Name, Request: c.Request}) {
		return appendJSON(buf, c)
	}
	buf = append(buf, `{"name":`...)
	buf = jsonw.String(buf, c.Name)
	if c.Request != "" {
		buf = append(buf, `,"request":`...)
		buf = jsonw.String(buf, c.Request)
	}
	return append(buf, '}'), nil
}

// appendPodClaim writes a pod's resource claim.
func appendPodClaim(buf []byte, c corev1.PodResourceClaim) ([]byte, error) {
	if c != (corev1.PodResourceClaim{Name: c.Name, ResourceClaimName: c.ResourceClaimName, ResourceClaimTemplateName: c.ResourceClaimTemplateName}) {
		return appendJSON(buf, c)
	}
	buf = append(buf, `{"name":`...)
	buf = jsonw.String(buf, c.Name)
	if c.ResourceClaimName != nil {
		buf = append(buf, `,"resourceClaimName":`...)
		buf = jsonw.String(buf, *c.ResourceClaimName)
	}
	if c.ResourceClaimTemplateName != nil {
		buf = append(buf, `,"resourceClaimTemplateName":`...)
		buf = jsonw.String(buf, *c.ResourceClaimTemplateName)
	}
	return append(buf, '}'), nil
}

// String is p as a JSON pointer, for messages.
func (p jsonPointer) String() string {
	if p.container < 0 {
		return p.path
	}
	return "/spec/containers/" + strconv.Itoa(p.container) + p.path
}
