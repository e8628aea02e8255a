package admission

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func seedPod(ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "rdma-tools-", Namespace: "default", Annotations: ann},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "rdma-tools", Image: "rdma-tools"}}},
	}
}

const seedPatch = `[{"op":"add","path":"/metadata/annotations/k8s.v1.cni.cncf.io~1networks","value":"[{\"name\":\"gpu1-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu2-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu3-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu4-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu5-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu6-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu7-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu8-sriov\",\"namespace\":\"spiderpool\"}]"},{"op":"add","path":"/metadata/annotations/railnet.io~1injected-networks","value":"[{\"name\":\"gpu1-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu2-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu3-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu4-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu5-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu6-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu7-sriov\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu8-sriov\",\"namespace\":\"spiderpool\"}]"},{"op":"add","path":"/metadata/annotations/railnet.io~1injection","value":"group rdma-network (pod annotation cni.spidernet.io/rdma-resource-inject): networks spiderpool/gpu1-sriov,spiderpool/gpu2-sriov,spiderpool/gpu3-sriov,spiderpool/gpu4-sriov,spiderpool/gpu5-sriov,spiderpool/gpu6-sriov,spiderpool/gpu7-sriov,spiderpool/gpu8-sriov; 1 each of spidernet.io/gpu1rdma,spidernet.io/gpu2rdma,spidernet.io/gpu3rdma,spidernet.io/gpu4rdma,spidernet.io/gpu5rdma,spidernet.io/gpu6rdma,spidernet.io/gpu7rdma,spidernet.io/gpu8rdma on container rdma-tools; NCCL conf file /run/railnet/nccl/nccl.conf"},{"op":"add","path":"/spec/containers/0/resources/limits","value":{"spidernet.io/gpu1rdma":"1","spidernet.io/gpu2rdma":"1","spidernet.io/gpu3rdma":"1","spidernet.io/gpu4rdma":"1","spidernet.io/gpu5rdma":"1","spidernet.io/gpu6rdma":"1","spidernet.io/gpu7rdma":"1","spidernet.io/gpu8rdma":"1"}},` + seedNCCLPatch + `]`

// seedNCCLPatch is what the seed's pod gets for NCCL: env, the read-only
// mount of its own folder of the node agent's NCCL folder, and the volume.
const seedNCCLPatch = `{"op":"add","path":"/spec/containers/0/env","value":[{"name":"RAILNET_POD_UID","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.uid"}}},{"name":"NCCL_CONF_FILE","value":"/run/railnet/nccl/nccl.conf"},{"name":"NCCL_SOCKET_IFNAME","value":"=eth0"}]},` +
	`{"op":"add","path":"/spec/containers/0/volumeMounts","value":[{"name":"railnet-nccl","readOnly":true,"mountPath":"/run/railnet/nccl","subPathExpr":"$(RAILNET_POD_UID)"}]},` +
	`{"op":"add","path":"/spec/volumes","value":[{"name":"railnet-nccl","hostPath":{"path":"/run/railnet/nccl","type":"DirectoryOrCreate"}}]}`

func TestServeHTTPPods(t *testing.T) {
	rdma := map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name  string
		store *memStore
		pod   *corev1.Pod
		want  string
	}{
		{name: "seed pod gets the seed's networks and eight resources", store: seedStore(), pod: seedPod(rdma),
			want: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u1","allowed":true,"patch":"` + b64([]byte(seedPatch)) + `","patchType":"JSONPatch"}}`},
		{name: "unannotated pod passes untouched", store: seedStore(), pod: seedPod(nil),
			want: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u1","allowed":true}}`},
		{name: "excluded namespace passes untouched", store: func() *memStore {
			s := seedStore()
			s.cfg.NamespacesExclude = []string{"default"}
			return s
		}(), pod: seedPod(rdma),
			want: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u1","allowed":true}}`},
		{name: "unknown group refused", store: seedStore(), pod: seedPod(map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "nope"}),
			want: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u1","allowed":false,"status":{"metadata":{},"status":"Failure","message":"pod default/rdma-tools-* asks for inject group \"nope\" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation","reason":"no-member","code":403}}}`},
		{name: "cluster state unreadable: refused with a retry hint", store: &memStore{err: errBoom}, pod: seedPod(rdma),
			want: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u1","allowed":false,"status":{"metadata":{},"status":"Failure","message":"railnet webhook cannot read the cluster state (cache not synced); retry shortly","reason":"cluster-read-failed","code":500}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Store: tt.store}
			code, body := post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
				review(t, "u1", podKind, admissionv1.Create, "default", "", tt.pod, nil))
			if code != http.StatusOK {
				t.Fatalf("code %d: %s", code, body)
			}
			if got := strings.TrimSpace(body); got != tt.want {
				t.Errorf("body =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestServeHTTPPodIdempotent(t *testing.T) {
	h := &Handler{Store: seedStore()}
	pod := seedPod(map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"})
	_, body := post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
		review(t, "u1", podKind, admissionv1.Create, "default", "", pod, nil))
	resp, _ := decodeReview(t, body)
	// Apply the patch the way the apiserver does, then review again.
	mutated := applyPatch(t, pod, resp.Patch)
	_, body = post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
		review(t, "u2", podKind, admissionv1.Create, "default", "", mutated, nil))
	if want := `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u2","allowed":true}}`; strings.TrimSpace(body) != want {
		t.Errorf("second review = %s, want no patch", body)
	}
}

func TestServeHTTPMalformed(t *testing.T) {
	rec := newCountRecorder()
	h := &Handler{Store: seedStore(), Metrics: rec}
	ep := Endpoint("mutate", h.Mutate, rec)
	tests := []struct {
		name, contentType, body string
		wantCode                int
		wantBody                string
	}{
		{name: "wrong content type", contentType: "text/plain", body: "{}", wantCode: 415,
			wantBody: `Content-Type "text/plain": want application/json`},
		{name: "no content type", body: "{}", wantCode: 415, wantBody: `Content-Type "": want application/json`},
		{name: "not JSON", contentType: "application/json", body: "{", wantCode: 400,
			wantBody: "body is not an AdmissionReview: unexpected end of JSON input"},
		{name: "no request", contentType: "application/json; charset=utf-8", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, wantCode: 400,
			wantBody: "body must be an admission.k8s.io/v1 AdmissionReview with a request"},
		{name: "v1beta1 review", contentType: "application/json", body: `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`, wantCode: 400,
			wantBody: "body must be an admission.k8s.io/v1 AdmissionReview with a request"},
		{name: "too large", contentType: "application/json", body: `{"x":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, wantCode: 413,
			wantBody: "request body exceeds 7340032 bytes"},
		{name: "pod object undecodable", contentType: "application/json",
			body:     `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u9","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"default","object":{"metadata":"oops"}}}`,
			wantCode: 200,
			wantBody: `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u9","allowed":false,"status":{"metadata":{},"status":"Failure","message":"decode pod: json: cannot unmarshal string into Go struct field Pod.metadata of type v1.ObjectMeta","reason":"undecodable-object","code":400}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, ep, tt.contentType, []byte(tt.body))
			if code != tt.wantCode || strings.TrimSpace(body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", code, strings.TrimSpace(body), tt.wantCode, tt.wantBody)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/mutate", nil)
	w := httptest.NewRecorder()
	ep.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
	if rec.requests["mutate/Pod/denied"] != 1 || rec.requests["mutate//error"] != 7 || rec.refused[ReasonBadObject] != 1 {
		t.Errorf("metrics = %+v", rec)
	}
}

func TestServeHTTPMultusConfigSeedForm(t *testing.T) {
	var smc spiderv2beta1.SpiderMultusConfig
	if err := yaml.Unmarshal([]byte(`
apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderMultusConfig
metadata:
  name: gpu1-macvlan
  namespace: spiderpool
spec:
  cniType: macvlan
  rdmaResourceName: spidernet.io/shared_cx5_gpu1
  macvlan:
    master: ["enp11s0f0np0"]
    ippools:
      ipv4: ["gpu1-net11"]
`), &smc); err != nil {
		t.Fatal(err)
	}
	h := &Handler{Store: seedStore()}
	_, body := post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
		review(t, "s1", smcKind, admissionv1.Create, "spiderpool", "gpu1-macvlan", &smc, nil))
	patch := `[{"op":"add","path":"/spec/macvlan/rdmaResourceName","value":"spidernet.io/shared_cx5_gpu1"},{"op":"remove","path":"/spec/rdmaResourceName"}]`
	want := `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"s1","allowed":true,"patch":"` +
		base64.StdEncoding.EncodeToString([]byte(patch)) + `","patchType":"JSONPatch","warnings":["SpiderMultusConfig spiderpool/gpu1-macvlan: moved spec.rdmaResourceName spidernet.io/shared_cx5_gpu1 to spec.macvlan.rdmaResourceName"]}}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("body =\n%s\nwant\n%s", got, want)
	}
	// The validating endpoint refuses a config that bypassed defaulting and
	// cannot be injected.
	smc.Spec.RDMAResourceName = ""
	smc.Spec.Macvlan.IPPools = nil
	smc.Annotations = map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}
	_, body = post(t, Endpoint("validate", h.Validate, nil), "application/json",
		review(t, "s2", smcKind, admissionv1.Update, "spiderpool", "gpu1-macvlan", &smc, &smc))
	want = `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"s2","allowed":false,"status":{"metadata":{},"status":"Failure","message":"SpiderMultusConfig spiderpool/gpu1-macvlan: annotation cni.spidernet.io/rdma-resource-inject: rdma-network puts it in an inject group, but it has no RDMA resource name (set spec.macvlan.rdmaResourceName) and no IP pool (set spec.macvlan.ippools.ipv4 or .ipv6); fix the config or remove the annotation","reason":"invalid-multusconfig","code":403}}}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("body =\n%s\nwant\n%s", got, want)
	}
}
