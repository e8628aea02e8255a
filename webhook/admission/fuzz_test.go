package admission

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	gojson "github.com/goccy/go-json"

	admissionv1 "k8s.io/api/admission/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// FuzzEndpoint feeds arbitrary bodies through decode + mutate + validate:
// the answer is always a well-formed HTTP reply, never a panic.
// Run longer with: go test ./webhook/admission -fuzz FuzzEndpoint
func FuzzEndpoint(f *testing.F) {
	rdma := map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}
	f.Add(review(f, "a", podKind, admissionv1.Create, "default", "", seedPod(rdma), nil))
	f.Add(review(f, "b", podKind, admissionv1.Create, "default", "", seedPod(map[string]string{
		spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network", "k8s.v1.cni.cncf.io/networks": "x/y"}), nil))
	f.Add(review(f, "c", smcKind, admissionv1.Create, "spiderpool", "x", seedStore().configs[0], nil))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{"metadata":{"annotations":{"cni.spidernet.io/rdma-resource-inject":",,"}},"spec":{"containers":[]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"spiderpool.spidernet.io","version":"v2beta1","kind":"SpiderIPPool"},"operation":"CREATE","object":{"spec":{"subnet":"10.0.0.0/8","ips":["10.0.0.9-10.0.0.1"],"routes":[{"dst":"::/0","gw":"x"}]}}}}`))
	f.Add([]byte(`{"request":null}`))
	h := &Handler{Store: seedStore()}
	mutate, validate := Endpoint("mutate", h.Mutate, nil), Endpoint("validate", h.Validate, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		sameReview(t, body)
		for _, ep := range []http.Handler{mutate, validate} {
			code, out := post(t, ep, "application/json", body)
			switch code {
			case http.StatusOK:
				var r admissionv1.AdmissionReview
				if err := json.Unmarshal([]byte(out), &r); err != nil || r.Response == nil {
					t.Fatalf("200 without a review: %v %s", err, out)
				}
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("unexpected status %d: %s", code, out)
			}
		}
	})
}

// sameReview fails unless readReview takes body exactly when goccy/go-json
// decodes it as an admissionv1.AdmissionReview with a v1 request, and
// then returns the same request; and unless its request keeps no byte of
// body (the endpoint reuses body's buffer).
func sameReview(t *testing.T, body []byte) {
	t.Helper()
	var typed admissionv1.AdmissionReview
	typedErr := gojson.Unmarshal(body, &typed)
	typedOK := typedErr == nil && typed.Request != nil && typed.APIVersion == reviewAPIVersion && typed.Kind == "AdmissionReview"
	own := append([]byte(nil), body...)
	req, err := readReview(own)
	if (err == nil) != typedOK {
		t.Fatalf("readReview error %v, typed decode error %v (request %v)", err, typedErr, typed.Request != nil)
	}
	if err != nil {
		return
	}
	for i := range own {
		own[i] = 'x'
	}
	if !reflect.DeepEqual(req, typed.Request) {
		t.Fatalf("readReview's request differs from the typed decode's:\n%#v\n%#v", req, typed.Request)
	}
}
