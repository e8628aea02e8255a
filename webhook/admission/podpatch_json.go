package admission

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

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

// patchWriter accumulates a patch's operations.
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

func podPtr(path string) jsonPointer                    { return jsonPointer{container: -1, path: path} }
func containerPtr(i int, path string) jsonPointer       { return jsonPointer{container: i, path: path} }
func (w *patchWriter) rawString(s string)               { w.buf = append(w.buf, s...) }
func (w *patchWriter) end()                             { w.buf = append(w.buf, '}') }
func (w *patchWriter) endNoValue()                      { w.buf = append(w.buf, `"}`...) }
func (w *patchWriter) value()                           { w.buf = append(w.buf, `","value":`...) }
func writeString(w *patchWriter, s string)              { w.buf = appendString(w.buf, s) }
func writeQuantity(w *patchWriter, q resource.Quantity) { w.buf = appendString(w.buf, q.String()) }

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
	w.buf = appendChars(w.buf, k, true)
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

// writeJSON writes v through json.Marshal, for values beyond what the
// writers here know.
func writeJSON(w *patchWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.buf = append(w.buf, b...)
}

// writeMap writes m as json.Marshal does: keys in order.
func writeMap[K ~string, V any](w *patchWriter, m map[K]V, enc func(*patchWriter, V)) {
	var small [16]K // a pod's maps are small: their keys stay on the stack
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.buf = append(w.buf, '{')
	for i, k := range keys {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendString(w.buf, string(k))
		w.buf = append(w.buf, ':')
		enc(w, m[k])
	}
	w.buf = append(w.buf, '}')
}

// writeList writes l as a JSON array (never null: an empty list is []).
func writeList[V any](w *patchWriter, l []V, enc func(*patchWriter, V)) {
	w.buf = append(w.buf, '[')
	for i, v := range l {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		enc(w, v)
	}
	w.buf = append(w.buf, ']')
}

// writeResources writes a container's resources member holding its
// non-empty limits and requests.
func writeResources(w *patchWriter, limits, requests corev1.ResourceList) {
	w.buf = append(w.buf, '{')
	if len(limits) > 0 {
		w.buf = append(w.buf, `"limits":`...)
		writeMap(w, limits, writeQuantity)
	}
	if len(requests) > 0 {
		if len(limits) > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = append(w.buf, `"requests":`...)
		writeMap(w, requests, writeQuantity)
	}
	w.buf = append(w.buf, '}')
}

// writeEnv writes an env entry; by hand when its value is literal or from
// a field of the pod (NCCL's entries), else through json.Marshal.
func writeEnv(w *patchWriter, e corev1.EnvVar) {
	if e != (corev1.EnvVar{Name: e.Name, Value: e.Value, ValueFrom: e.ValueFrom}) ||
		e.ValueFrom != nil && (*e.ValueFrom != corev1.EnvVarSource{FieldRef: e.ValueFrom.FieldRef} ||
			e.ValueFrom.FieldRef != nil && *e.ValueFrom.FieldRef != corev1.ObjectFieldSelector{
				APIVersion: e.ValueFrom.FieldRef.APIVersion, FieldPath: e.ValueFrom.FieldRef.FieldPath}) {
		writeJSON(w, e)
		return
	}
	w.rawString(`{"name":`)
	writeString(w, e.Name)
	if e.Value != "" {
		w.rawString(`,"value":`)
		writeString(w, e.Value)
	}
	if e.ValueFrom != nil {
		w.rawString(`,"valueFrom":{`)
		if f := e.ValueFrom.FieldRef; f != nil {
			w.rawString(`"fieldRef":{`)
			if f.APIVersion != "" {
				w.rawString(`"apiVersion":`)
				writeString(w, f.APIVersion)
				w.buf = append(w.buf, ',')
			}
			w.rawString(`"fieldPath":`)
			writeString(w, f.FieldPath)
			w.buf = append(w.buf, '}')
		}
		w.buf = append(w.buf, '}')
	}
	w.buf = append(w.buf, '}')
}

// writeMount writes a volume mount, every field by hand.
func writeMount(w *patchWriter, m corev1.VolumeMount) {
	w.rawString(`{"name":`)
	writeString(w, m.Name)
	if m.ReadOnly {
		w.rawString(`,"readOnly":true`)
	}
	if m.RecursiveReadOnly != nil {
		w.rawString(`,"recursiveReadOnly":`)
		writeString(w, string(*m.RecursiveReadOnly))
	}
	w.rawString(`,"mountPath":`)
	writeString(w, m.MountPath)
	if m.SubPath != "" {
		w.rawString(`,"subPath":`)
		writeString(w, m.SubPath)
	}
	if m.MountPropagation != nil {
		w.rawString(`,"mountPropagation":`)
		writeString(w, string(*m.MountPropagation))
	}
	if m.SubPathExpr != "" {
		w.rawString(`,"subPathExpr":`)
		writeString(w, m.SubPathExpr)
	}
	if len(m.BindMountOptions) > 0 {
		w.rawString(`,"bindMountOptions":`)
		writeList(w, m.BindMountOptions, writeString)
	}
	w.buf = append(w.buf, '}')
}

// writeVolume writes a pod volume; by hand when it is a hostPath (NCCL's),
// else through json.Marshal.
func writeVolume(w *patchWriter, v corev1.Volume) {
	hp := v.HostPath
	if hp == nil || v != (corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{HostPath: hp}}) ||
		*hp != (corev1.HostPathVolumeSource{Path: hp.Path, Type: hp.Type}) {
		writeJSON(w, v)
		return
	}
	w.rawString(`{"name":`)
	writeString(w, v.Name)
	w.rawString(`,"hostPath":{"path":`)
	writeString(w, hp.Path)
	if hp.Type != nil {
		w.rawString(`,"type":`)
		writeString(w, string(*hp.Type))
	}
	w.rawString(`}}`)
}

// writeClaim writes a container's resource claim.
func writeClaim(w *patchWriter, c corev1.ResourceClaim) {
	if c != (corev1.ResourceClaim{Name: c.Name, Request: c.Request}) {
		writeJSON(w, c)
		return
	}
	w.rawString(`{"name":`)
	writeString(w, c.Name)
	if c.Request != "" {
		w.rawString(`,"request":`)
		writeString(w, c.Request)
	}
	w.buf = append(w.buf, '}')
}

// writePodClaim writes a pod's resource claim.
func writePodClaim(w *patchWriter, c corev1.PodResourceClaim) {
	if c != (corev1.PodResourceClaim{Name: c.Name, ResourceClaimName: c.ResourceClaimName, ResourceClaimTemplateName: c.ResourceClaimTemplateName}) {
		writeJSON(w, c)
		return
	}
	w.rawString(`{"name":`)
	writeString(w, c.Name)
	if c.ResourceClaimName != nil {
		w.rawString(`,"resourceClaimName":`)
		writeString(w, *c.ResourceClaimName)
	}
	if c.ResourceClaimTemplateName != nil {
		w.rawString(`,"resourceClaimTemplateName":`)
		writeString(w, *c.ResourceClaimTemplateName)
	}
	w.buf = append(w.buf, '}')
}

// appendString appends s as a JSON string, byte for byte as json.Marshal
// writes it.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	return append(appendChars(buf, s, false), '"')
}

// appendChars appends s JSON-escaped, without quotes, as json.Marshal
// escapes it: ASCII by hand (the networks annotation has quotes and
// newlines), anything else through json.Marshal. With pointer, s is a
// JSON-pointer reference token and "~" and "/" are escaped first.
func appendChars(buf []byte, s string, pointer bool) []byte {
	start := len(buf)
	verbatim := &verbatimJSON
	if pointer {
		verbatim = &verbatimPointer
	}
	plain := 0 // s[plain:i] is still to copy
	for i := 0; i < len(s); i++ {
		c := s[i]
		if verbatim[c] {
			continue
		}
		buf = append(buf, s[plain:i]...)
		plain = i + 1
		switch {
		case c == '~': // pointer only
			buf = append(buf, '~', '0')
		case c == '/':
			buf = append(buf, '~', '1')
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
			if pointer {
				s = escapePointer(s)
			}
			b, _ := json.Marshal(s) // cannot fail for a string
			return append(buf[:start], b[1:len(b)-1]...)
		}
	}
	return append(buf, s[plain:]...)
}

const hex = "0123456789abcdef"

// verbatimJSON holds the bytes json.Marshal copies into a string as they
// are: printable ASCII but the quote, the backslash and the HTML-escaped
// <, > and &. verbatimPointer is that without a reference token's "~" and
// "/".
var verbatimJSON, verbatimPointer = func() (j, p [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		j[c] = !strings.ContainsRune(`"\<>&`, rune(c))
		p[c] = j[c] && c != '~' && c != '/'
	}
	return j, p
}()

// pointerEscaper escapes a JSON-pointer reference token (RFC 6901): "~" is
// "~0" and "/" is "~1", so k8s.v1.cni.cncf.io/networks is
// k8s.v1.cni.cncf.io~1networks.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(s string) string { return pointerEscaper.Replace(s) }

// String is p as a JSON pointer, for messages.
func (p jsonPointer) String() string {
	if p.container < 0 {
		return p.path
	}
	return "/spec/containers/" + strconv.Itoa(p.container) + p.path
}
