package admission

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/railnet/railnet/api/jsonw"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// patchOp is one RFC 6902 operation, as the tests read a patch back.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// escapes are strings json.Marshal escapes in every way it has.
var escapes = []string{"", "plain", "[{\"name\":\"a\"},\n{\"name\":\"<b>&é\u2028\"}]\t\\", "a\r\t\b\f\x01\x7f z<>&\"\\", "k8s.v1.cni.cncf.io/networks", "a~b/c~1", "é/~", "\xff/x"}

// TestPatchWriterJSON: operations, paths and reference tokens are written
// as json.Marshal writes a list of patchOp with the pointer escaped.
func TestPatchWriterJSON(t *testing.T) {
	var w patchWriter
	var want []patchOp
	for _, s := range escapes {
		w.begin("add", podPtr("/metadata/annotations"))
		w.key(s)
		w.value()
		w.put(appendStringValue(w.buf, s))
		w.end()
		want = append(want, patchOp{Op: "add", Path: "/metadata/annotations/" + jsonw.EscapePointer(s), Value: s})
	}
	w.begin("remove", containerPtr(12, "/resources/limits"))
	w.key("nvidia.com/gpu")
	w.endNoValue()
	want = append(want, patchOp{Op: "remove", Path: "/spec/containers/12/resources/limits/nvidia.com~1gpu"})
	w.begin("add", containerPtr(0, "/env"))
	w.key("-")
	w.value()
	w.put(appendEnv(w.buf, corev1.EnvVar{Name: "A", Value: "1"}))
	w.end()
	want = append(want, patchOp{Op: "add", Path: "/spec/containers/0/env/-", Value: corev1.EnvVar{Name: "A", Value: "1"}})
	got, err := w.patch()
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(wantJSON) {
		t.Errorf("patch =\n%s\njson.Marshal =\n%s", got, wantJSON)
	}
	if got, err := (&patchWriter{}).patch(); got != nil || err != nil {
		t.Errorf("no operations: %s, %v; want nil", got, err)
	}
}

// TestPatchValuesJSON holds every value writer to json.Marshal: for each
// type, values with every field set, with each field alone (and each of
// that field's own variants), and the values injection writes. A field
// Kubernetes adds to one of these types is set here and fails the test
// until its writer knows it.
func TestPatchValuesJSON(t *testing.T) {
	check := func(t *testing.T, v any, write func([]byte) ([]byte, error)) {
		t.Helper()
		got, err := write([]byte("x"))
		want, werr := json.Marshal(v)
		if werr != nil {
			t.Fatal(werr)
		}
		if err != nil || string(got) != "x"+string(want) {
			t.Errorf("writer: %s (err %v)\njson.Marshal: x%s", got, err, want)
		}
	}
	each := func(t *testing.T, typ reflect.Type, write func([]byte, reflect.Value) ([]byte, error)) {
		t.Helper()
		vs := variants(typ, 0)
		if len(vs) < 2 {
			t.Fatalf("%s: %d variants", typ, len(vs))
		}
		for _, v := range vs {
			check(t, v.Interface(), func(buf []byte) ([]byte, error) { return write(buf, v) })
		}
		list := reflect.MakeSlice(reflect.SliceOf(typ), 0, len(vs))
		list = reflect.Append(list, vs...)
		check(t, list.Interface(), func(buf []byte) ([]byte, error) { return appendList(buf, vs, write) })
	}
	t.Run("strings", func(t *testing.T) {
		for _, s := range escapes {
			check(t, s, func(buf []byte) ([]byte, error) { return appendStringValue(buf, s) })
		}
	})
	t.Run("env", func(t *testing.T) {
		each(t, reflect.TypeFor[corev1.EnvVar](), func(buf []byte, v reflect.Value) ([]byte, error) {
			return appendEnv(buf, v.Interface().(corev1.EnvVar))
		})
	})
	t.Run("volumeMount", func(t *testing.T) {
		each(t, reflect.TypeFor[corev1.VolumeMount](), func(buf []byte, v reflect.Value) ([]byte, error) {
			return appendMount(buf, v.Interface().(corev1.VolumeMount))
		})
	})
	t.Run("volume", func(t *testing.T) {
		each(t, reflect.TypeFor[corev1.Volume](), func(buf []byte, v reflect.Value) ([]byte, error) {
			return appendVolume(buf, v.Interface().(corev1.Volume))
		})
	})
	t.Run("claim", func(t *testing.T) {
		each(t, reflect.TypeFor[corev1.ResourceClaim](), func(buf []byte, v reflect.Value) ([]byte, error) {
			return appendClaim(buf, v.Interface().(corev1.ResourceClaim))
		})
	})
	t.Run("pod claim", func(t *testing.T) {
		each(t, reflect.TypeFor[corev1.PodResourceClaim](), func(buf []byte, v reflect.Value) ([]byte, error) {
			return appendPodClaim(buf, v.Interface().(corev1.PodResourceClaim))
		})
	})
	t.Run("maps", func(t *testing.T) {
		l := corev1.ResourceList{"b/x": resource.MustParse("1"), "a": resource.MustParse("500m"), "c": resource.MustParse("2Gi"), "d": {}}
		r := corev1.ResourceList{"spidernet.io/gpu1rdma": resource.MustParse("1")}
		check(t, l, func(buf []byte) ([]byte, error) { return appendMap(buf, l, appendQuantity) })
		check(t, corev1.ResourceList{}, func(buf []byte) ([]byte, error) { return appendMap(buf, corev1.ResourceList{}, appendQuantity) })
		for _, c := range []struct{ limits, requests corev1.ResourceList }{{l, r}, {l, nil}, {nil, r}, {nil, nil}} {
			v := map[string]corev1.ResourceList{}
			if len(c.limits) > 0 {
				v["limits"] = c.limits
			}
			if len(c.requests) > 0 {
				v["requests"] = c.requests
			}
			check(t, v, func(buf []byte) ([]byte, error) { return appendResources(buf, c.limits, c.requests) })
		}
		ann := map[string]string{}
		for i, s := range escapes {
			ann[s] = escapes[len(escapes)-1-i]
		}
		check(t, ann, func(buf []byte) ([]byte, error) { return appendMap(buf, ann, appendStringValue) })
		for i := range escapes { // values repeated, as injection writes the networks annotation twice
			ann[escapes[i]] = escapes[i%3]
		}
		var rep repeats
		check(t, ann, func(buf []byte) ([]byte, error) { return appendMap(buf, ann, rep.appendString) })
		many := map[string]string{} // more keys than fit on the stack
		for i := range 40 {
			many[strings.Repeat("k", i)] = "v"
		}
		check(t, many, func(buf []byte) ([]byte, error) { return appendMap(buf, many, appendStringValue) })
	})
}

// variants returns values of typ: the zero value and one with every field
// set and, for a struct (above depth 2), one per field and per variant of
// that field with only that field set.
func variants(typ reflect.Type, depth int) []reflect.Value {
	switch typ.Kind() {
	case reflect.Pointer:
		var out []reflect.Value
		for _, e := range variants(typ.Elem(), depth) {
			p := reflect.New(typ.Elem())
			p.Elem().Set(e)
			out = append(out, p)
		}
		return out
	case reflect.Struct:
		out := []reflect.Value{reflect.New(typ).Elem(), fill(typ, depth)}
		if depth >= 2 {
			return out
		}
		for i := range typ.NumField() {
			if !typ.Field(i).IsExported() {
				continue
			}
			for _, f := range variants(typ.Field(i).Type, depth+1) {
				v := reflect.New(typ).Elem()
				v.Field(i).Set(f)
				out = append(out, v)
			}
		}
		return out
	}
	return []reflect.Value{fill(typ, depth)}
}

// fill returns a value of typ with every exported field set (to depth 6).
func fill(typ reflect.Type, depth int) reflect.Value {
	v := reflect.New(typ).Elem()
	if depth > 6 {
		return v
	}
	switch typ.Kind() {
	case reflect.String:
		v.SetString("v<" + typ.Name() + ">")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Pointer:
		v.Set(reflect.New(typ.Elem()))
		v.Elem().Set(fill(typ.Elem(), depth+1))
	case reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(typ, 0, 1), fill(typ.Elem(), depth+1)))
	case reflect.Map:
		v.Set(reflect.MakeMap(typ))
		v.SetMapIndex(fill(typ.Key(), depth+1), fill(typ.Elem(), depth+1))
	case reflect.Struct:
		if typ == reflect.TypeFor[resource.Quantity]() {
			v.Set(reflect.ValueOf(resource.MustParse("3")))
			break
		}
		for i := range typ.NumField() {
			if typ.Field(i).IsExported() {
				v.Field(i).Set(fill(typ.Field(i).Type, depth+1))
			}
		}
	}
	return v
}

// TestAppendEscaped: strings written through the cache of escaped text
// are written as json.Marshal writes them, the first time and the next;
// the cache keeps its bound and no string outside its lengths.
func TestAppendEscaped(t *testing.T) {
	long := strings.Repeat(`{"name":"gpu1-sriov","namespace":"spiderpool"},`+"\n<&>", 8)
	for _, s := range []string{"", "short \"one\"", long, long + "x", strings.Repeat("é\u2028", escapedMaxLen), long} {
		want, _ := json.Marshal(s)
		for range 2 {
			if got := appendEscaped([]byte("x"), s); string(got) != "x"+string(want) {
				t.Fatalf("appendEscaped(%.40q…) = %.60s…, json.Marshal writes %.60s…", s, got[1:], want)
			}
		}
	}
	escaped.RLock()
	for s := range escaped.text {
		if len(s) < escapedMinLen || len(s) > escapedMaxLen {
			t.Errorf("cached a string of %d bytes", len(s))
		}
	}
	escaped.RUnlock()
	for i := range 3 * escapedMax {
		appendEscaped(nil, long+strconv.Itoa(i))
	}
	escaped.RLock()
	defer escaped.RUnlock()
	if n := len(escaped.text); n > escapedMax || n == 0 {
		t.Errorf("cache holds %d strings, bound %d", n, escapedMax)
	}
}
