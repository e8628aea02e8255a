package admission

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	gojson "github.com/goccy/go-json"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestResponseJSON holds appendReview to json.Marshal of the typed
// AdmissionReview (plus the newline the encoder wrote before), and to
// goccy/go-json's encoder, which wrote the answers before: for the
// answers the webhook gives (allowed, patched, refused, warnings), and
// for a response and a status with every field set, with each field
// alone and each of its variants (variants, podpatch_json_test.go). A
// field Kubernetes adds to AdmissionResponse or Status is set here and
// fails the test until the writer knows it. The answer also decodes back
// into the response it was written from.
func TestResponseJSON(t *testing.T) {
	patchType := admissionv1.PatchTypeJSONPatch
	refusal := &metav1.Status{Status: metav1.StatusFailure, Code: 403, Reason: "no-member",
		Message: `pod default/rdma-tools-* asks for inject group "nope" <&> (annotation a/b)` + "\n\u2028é"}
	cases := map[string]*admissionv1.AdmissionResponse{
		"allowed":               {UID: "u1", Allowed: true},
		"empty":                 {},
		"patched":               {UID: "8f0d-44", Allowed: true, Patch: []byte(seedPatch), PatchType: &patchType},
		"refused":               {UID: "u1", Result: refusal},
		"warnings":              {UID: "u1", Allowed: true, Warnings: []string{"pools a and b <overlap>", "", "é\"\\"}},
		"refused with warnings": {UID: "u1", Result: refusal, Warnings: []string{"w"}},
		"internal failure": {UID: "u1", Result: &metav1.Status{Code: 500, Message: "encode patch: boom"},
			Warnings: []string{"w"}},
		"no patch, patch type": {UID: "u1", Allowed: true, Patch: []byte{}, PatchType: &patchType},
		"audit annotations":    {UID: "u1", Allowed: true, AuditAnnotations: map[string]string{"b": "2", "a/x": "<1>", "": ""}},
	}
	for _, v := range variants(reflect.TypeFor[admissionv1.AdmissionResponse](), 0) {
		cases["variant "+jsonString(t, v.Interface())] = ptrTo(v.Interface().(admissionv1.AdmissionResponse))
	}
	for _, v := range variants(reflect.TypeFor[metav1.Status](), 0) {
		s := v.Interface().(metav1.Status)
		cases["status variant "+jsonString(t, s)] = &admissionv1.AdmissionResponse{UID: "u", Result: &s}
	}
	for name, resp := range cases {
		review := admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Response: resp,
		}
		want, err := json.Marshal(review)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		got := appendReview([]byte("x"), resp)
		if !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Errorf("%s:\nappendReview: %s\njson.Marshal: %s", name, got, want)
			continue
		}
		var before bytes.Buffer
		if err := gojson.NewEncoder(&before).Encode(review); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[1:], before.Bytes()) {
			t.Errorf("%s:\nappendReview:    %s\ngoccy's encoder: %s", name, got[1:], before.Bytes())
		}
		var back admissionv1.AdmissionReview
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Errorf("%s: answer does not decode: %v", name, err)
		} else if b, _ := json.Marshal(back); !bytes.Equal(append(b, '\n'), want) {
			t.Errorf("%s: decoded answer is %s, want %s", name, b, want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestScratchReuse: buffers are handed out empty with the room asked
// for, and one given back is handed out again.
func TestScratchReuse(t *testing.T) {
	b := append(getScratch(10), "abc"...)
	if cap(b) < 10 {
		t.Fatalf("getScratch(10) has room for %d", cap(b))
	}
	putScratch(b)
	putScratch(make([]byte, 3, 100)) // not the pool's: dropped
	putScratch(nil)
	if got := getScratch(scratchSize + 1); cap(got) < scratchSize+1 || len(got) != 0 {
		t.Errorf("getScratch(%d) = len %d cap %d", scratchSize+1, len(got), cap(got))
	}
	for range 3 {
		if got := getScratch(0); len(got) != 0 || cap(got) != scratchSize {
			t.Errorf("getScratch(0) = len %d cap %d, want 0, %d", len(got), cap(got), scratchSize)
		}
	}
	if n := testing.AllocsPerRun(100, func() { putScratch(getScratch(100)) }); n != 0 {
		t.Errorf("a buffer taken and given back costs %v allocations, want 0", n)
	}
}
