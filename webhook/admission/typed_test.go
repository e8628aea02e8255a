package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// defaultFunc and validateFunc make typed methods of plain functions, to
// drive the wrappers with any outcome.
type defaultFunc[T any] func(context.Context, *T) (mutation, error)

func (f defaultFunc[T]) Default(ctx context.Context, obj *T) (mutation, error) { return f(ctx, obj) }

type validateFunc[T any] func(ctx context.Context, old, obj *T) ([]string, error)

func (f validateFunc[T]) Validate(ctx context.Context, old, obj *T) ([]string, error) {
	return f(ctx, old, obj)
}

var cmCodec = objectCodec[corev1.ConfigMap, *corev1.ConfigMap]{namespaced: true}

func cmRequest(t *testing.T, op admissionv1.Operation, obj, old string) *admissionv1.AdmissionRequest {
	t.Helper()
	req := &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
		Operation: op, Namespace: "ns", Name: "cm"}
	req.Object.Raw, req.OldObject.Raw = []byte(obj), []byte(old)
	return req
}

// TestMutatingMapsOutcomes: the wrapper turns what a defaulter says into
// the answer — its refusal's reason and code (an error that names none is
// an internal failure), its warnings with an answer either way, a patch
// only for a change it reports and makes, counted as an injection only
// when there is a patch — and the defaulter sees the request's namespace,
// which the patch does not write.
func TestMutatingMapsOutcomes(t *testing.T) {
	const cm = `{"metadata":{"name":"cm"},"data":{"a":"1"}}`
	tests := []struct {
		name    string
		obj     string
		def     defaultFunc[corev1.ConfigMap]
		want    string // the answer as JSON
		counted map[string]int
	}{
		{name: "refusal with reason, code and warnings", obj: cm,
			def: func(context.Context, *corev1.ConfigMap) (mutation, error) {
				return mutation{Warnings: []string{"w"}}, forbidden("bad-data", errors.New("configmap ns/cm: data.a must be 2"))
			},
			want: `{"uid":"u","allowed":false,"status":{"metadata":{},"status":"Failure","message":"configmap ns/cm: data.a must be 2","reason":"bad-data","code":403},"warnings":["w"]}`},
		{name: "error without a reason: internal failure", obj: cm,
			def:  func(context.Context, *corev1.ConfigMap) (mutation, error) { return mutation{}, errors.New("boom") },
			want: `{"uid":"u","allowed":false,"status":{"metadata":{},"status":"Failure","message":"boom","reason":"internal-error","code":500}}`},
		{name: "change not reported: no patch", obj: cm,
			def: func(_ context.Context, c *corev1.ConfigMap) (mutation, error) {
				c.Data["a"] = "2"
				return mutation{Warnings: []string{"w"}}, nil
			},
			want: `{"uid":"u","allowed":true,"warnings":["w"]}`},
		{name: "reported change made: patch, injection counted, namespace seen but not written", obj: cm,
			def: func(_ context.Context, c *corev1.ConfigMap) (mutation, error) {
				c.Data["a"] = c.Namespace
				return mutation{Changed: true, Injected: "g"}, nil
			},
			want:    `{"uid":"u","allowed":true,"patch":"W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9kYXRhL2EiLCJ2YWx1ZSI6Im5zIn1d","patchType":"JSONPatch"}`,
			counted: map[string]int{"g": 1}},
		{name: "reported change not made: no patch, nothing counted", obj: cm,
			def: func(context.Context, *corev1.ConfigMap) (mutation, error) {
				return mutation{Changed: true, Injected: "g"}, nil
			},
			want: `{"uid":"u","allowed":true}`},
		{name: "undecodable object", obj: `{"data":[]}`,
			def: func(context.Context, *corev1.ConfigMap) (mutation, error) {
				t.Error("Default called on an undecodable object")
				return mutation{}, nil
			},
			want: `{"uid":"u","allowed":false,"status":{"metadata":{},"status":"Failure","message":"decode ConfigMap ns/cm: json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string","reason":"undecodable-object","code":400}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newCountRecorder()
			h := &Handler{Metrics: rec}
			resp := mutating(context.Background(), h, cmRequest(t, admissionv1.Create, tt.obj, ""), cmCodec, tt.def)
			got, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("answer\n  %s\nwant\n  %s", got, tt.want)
			}
			if len(rec.injected) > 0 || tt.counted != nil {
				if !reflect.DeepEqual(rec.injected, tt.counted) {
					t.Errorf("injections counted %v, want %v", rec.injected, tt.counted)
				}
			}
			if !resp.Allowed && rec.refused[string(resp.Result.Reason)] != 1 {
				t.Errorf("refusals counted %v", rec.refused)
			}
		})
	}
}

// TestValidatingDecodes: the validator gets the new object on CREATE, both
// on UPDATE, the old one on DELETE; an old object that does not decode is
// refused, named "old" only beside a new one.
func TestValidatingDecodes(t *testing.T) {
	const a, b = `{"metadata":{"name":"cm"},"data":{"v":"a"}}`, `{"metadata":{"name":"cm"},"data":{"v":"b"}}`
	seen := func(c *corev1.ConfigMap) string {
		if c == nil {
			return "nil"
		}
		return c.Namespace + ":" + c.Data["v"]
	}
	var got string
	v := validateFunc[corev1.ConfigMap](func(_ context.Context, old, obj *corev1.ConfigMap) ([]string, error) {
		got = fmt.Sprintf("old %s, new %s", seen(old), seen(obj))
		return []string{"checked"}, nil
	})
	for _, tt := range []struct {
		op       admissionv1.Operation
		obj, old string
		want     string // what the validator saw, or the refusal
	}{
		{admissionv1.Create, a, "", "old nil, new ns:a"},
		{admissionv1.Update, b, a, "old :a, new ns:b"},
		{admissionv1.Delete, "", a, "old :a, new nil"},
		{admissionv1.Update, b, `[]`, "decode old ConfigMap ns/cm: json: cannot unmarshal array into Go value of type v1.ConfigMap"},
		{admissionv1.Delete, "", `[]`, "decode ConfigMap ns/cm: json: cannot unmarshal array into Go value of type v1.ConfigMap"},
	} {
		got = ""
		resp := validating(context.Background(), &Handler{}, cmRequest(t, tt.op, tt.obj, tt.old), cmCodec, v)
		if resp.Allowed {
			if got != tt.want || !reflect.DeepEqual(resp.Warnings, []string{"checked"}) {
				t.Errorf("%s: validator saw %q (warnings %q), want %q", tt.op, got, resp.Warnings, tt.want)
			}
			continue
		}
		if got != "" || resp.Result.Message != tt.want || resp.Result.Code != 400 {
			t.Errorf("%s: refused %d %q (validator saw %q), want 400 %q", tt.op, resp.Result.Code, resp.Result.Message, got, tt.want)
		}
	}
}
