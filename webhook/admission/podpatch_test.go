package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
)

// TestPodPatchApplies sends raw pod JSON of many shapes through the
// mutating handler, applies the patch it emits to that JSON the way the
// apiserver does, and compares the result with the pod injection makes
// from a full decode (the reference): every field equal, and every member
// of the original JSON that injection does not own kept as it was.
func TestPodPatchApplies(t *testing.T) {
	nsStore := seedStore()
	nsStore.nsAnn = map[string]map[string]string{"ns-group": {spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}}
	const ann = `"cni.spidernet.io/rdma-resource-inject":"rdma-network"`
	stale := `"k8s.v1.cni.cncf.io/networks":"spiderpool/old","railnet.io/injected-networks":"spiderpool/old"`
	tests := []struct {
		name, ns, pod string
		cfg           *inject.Config // seedStore's when nil
		wantOps       []string       // op+path of each operation, in order
		// wantSummary is in the injection summary; wantPatch in the patch.
		wantSummary, wantPatch string
	}{
		{name: "seed pod", ns: "default",
			pod: `{"metadata":{"generateName":"rdma-tools-","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","image":"i","resources":{}}]}}`,
			wantOps: append([]string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/resources/limits"}, ncclOps(0)...)},
		{name: "no annotations map, group from namespace", ns: "ns-group",
			pod:     `{"metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[{"name":"c","resources":{}}]}}`,
			wantOps: append([]string{"add /metadata/annotations", "add /spec/containers/0/resources/limits"}, ncclOps(0)...)},
		{name: "annotations null, group from namespace", ns: "ns-group",
			pod:     `{"metadata":{"name":"p","annotations":null},"spec":{"containers":[{"name":"c","resources":{}}]}}`,
			wantOps: append([]string{"add /metadata/annotations", "add /spec/containers/0/resources/limits"}, ncclOps(0)...)},
		{name: "no metadata at all, group from namespace", ns: "ns-group",
			pod:     `{"spec":{"containers":[{"name":"c","resources":{}}]}}`,
			wantOps: append([]string{"add /metadata", "add /spec/containers/0/resources/limits"}, ncclOps(0)...)},
		{name: "container without resources member", ns: "default",
			pod:     `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","image":"i"}]}}`,
			wantOps: append([]string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection", "add /spec/containers/0/resources"}, ncclOps(0)...)},
		{name: "limits null", ns: "default",
			pod:     `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","resources":{"limits":null}}]}}`,
			wantOps: append([]string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection", "add /spec/containers/0/resources/limits"}, ncclOps(0)...)},
		{name: "existing limits and requests kept, missing keys added one by one", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"2","spidernet.io/gpu3rdma":"1"},"requests":{"spidernet.io/gpu5rdma":"1"}}}]}}`,
			wantOps: append([]string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/resources/limits/spidernet.io~1gpu1rdma", "add /spec/containers/0/resources/limits/spidernet.io~1gpu2rdma",
				"add /spec/containers/0/resources/limits/spidernet.io~1gpu4rdma", "add /spec/containers/0/resources/limits/spidernet.io~1gpu6rdma",
				"add /spec/containers/0/resources/limits/spidernet.io~1gpu7rdma", "add /spec/containers/0/resources/limits/spidernet.io~1gpu8rdma"}, ncclOps(0)...)},
		{name: "GPU container is the second one", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"sidecar","resources":{}},{"name":"train","resources":{"limits":{"nvidia.com/gpu":"8"}}}]}}`,
			wantOps: append([]string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/1/resources/limits/spidernet.io~1gpu1rdma", "add /spec/containers/1/resources/limits/spidernet.io~1gpu2rdma",
				"add /spec/containers/1/resources/limits/spidernet.io~1gpu3rdma", "add /spec/containers/1/resources/limits/spidernet.io~1gpu4rdma",
				"add /spec/containers/1/resources/limits/spidernet.io~1gpu5rdma", "add /spec/containers/1/resources/limits/spidernet.io~1gpu6rdma",
				"add /spec/containers/1/resources/limits/spidernet.io~1gpu7rdma", "add /spec/containers/1/resources/limits/spidernet.io~1gpu8rdma"}, ncclOps(1)...)},
		{name: "railnet's own stale networks annotation replaced", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `,` + stale + `}},"spec":{"containers":[{"name":"c","resources":{}}]}}`,
			wantOps: append([]string{"replace /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "replace /metadata/annotations/railnet.io~1injected-networks",
				"add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/resources/limits"}, ncclOps(0)...)},
		{name: "already injected before NCCL: NCCL only", ns: "default",
			pod:     `{"metadata":{"name":"p","annotations":{` + ann + `,"k8s.v1.cni.cncf.io/networks":` + jsonString(t, seedNetworksValue(t)) + `}},"spec":{"containers":[{"name":"c","resources":{"limits":` + seedLimits + `}}]}}`,
			wantOps: append([]string{"add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection"}, ncclOps(0)...)},
		{name: "existing env, mounts and volumes: NCCL's appended", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"volumes":[{"name":"data","emptyDir":{}}],"containers":[{"name":"c","env":[{"name":"A","value":"1"}],"volumeMounts":[{"name":"data","mountPath":"/data"}],"resources":{"limits":` + seedLimits + `}}]}}`,
			wantOps: []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/env/-", "add /spec/containers/0/env/-", "add /spec/containers/0/env/-", "add /spec/containers/0/volumeMounts/-", "add /spec/volumes/-"}},
		{name: "user's NCCL_IB_HCA and NCCL_SOCKET_IFNAME kept, never overridden", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","env":[{"name":"NCCL_IB_HCA","value":"mlx5_0"},{"name":"NCCL_SOCKET_IFNAME","value":"bond0"}],"resources":{"limits":` + seedLimits + `}}]}}`,
			wantOps: []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/env/-", "add /spec/containers/0/env/-", "add /spec/containers/0/volumeMounts", "add /spec/volumes"},
			wantSummary: "kept the container's own NCCL_IB_HCA, NCCL_SOCKET_IFNAME"},
		{name: "env, volumeMounts and volumes null", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"volumes":null,"containers":[{"name":"c","env":null,"volumeMounts":null,"resources":{"limits":` + seedLimits + `}}]}}`,
			wantOps: []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/env", "add /spec/containers/0/volumeMounts", "add /spec/volumes"}},
		{name: "the pod's own volume railnet-nccl: no mount, said in the summary", ns: "default",
			pod:         `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"volumes":[{"name":"railnet-nccl","emptyDir":{}}],"containers":[{"name":"c","resources":{"limits":` + seedLimits + `}}]}}`,
			wantOps:     []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection"},
			wantSummary: "no NCCL conf file: the pod has its own volume railnet-nccl; rename it to let railnet mount the pod's NCCL folder"},
		{name: "ncclConf false: no NCCL", ns: "default", cfg: &inject.Config{Enabled: true, NCCLConf: new(bool)},
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","resources":{}}]}}`,
			wantOps: []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/resources/limits"}},
		{name: "ncclDir from the configuration", ns: "default", cfg: &inject.Config{Enabled: true, NCCLDir: "/var/run/railnet-nccl"},
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","resources":{}}]}}`,
			wantOps: append([]string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/resources/limits"}, ncclOps(0)...),
			wantPatch: `"hostPath":{"path":"/var/run/railnet-nccl","type":"DirectoryOrCreate"}`},
		{name: "already injected with NCCL: no patch", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `,"k8s.v1.cni.cncf.io/networks":` + jsonString(t, seedNetworksValue(t)) + `,"railnet.io/injected-networks":` + jsonString(t, seedNetworksValue(t)) +
				`,"railnet.io/injection":` + jsonString(t, seedSummary) + `}},"spec":{"volumes":[{"name":"railnet-nccl","hostPath":{"path":"/run/railnet/nccl","type":"DirectoryOrCreate"}}],"containers":[{"name":"c","env":[{"name":"RAILNET_POD_UID","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.uid"}}},{"name":"NCCL_CONF_FILE","value":"/run/railnet/nccl/nccl.conf"},{"name":"NCCL_SOCKET_IFNAME","value":"=eth0"}],` +
				`"volumeMounts":[{"name":"railnet-nccl","readOnly":true,"mountPath":"/run/railnet/nccl","subPathExpr":"$(RAILNET_POD_UID)"}],"resources":{"limits":` + seedLimits + `}}]}}`,
			wantOps: nil},
		{name: "the pod's own RAILNET_POD_UID from metadata.uid and hostPath volume of the NCCL folder are used, not repeated", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"volumes":[{"name":"railnet-nccl","hostPath":{"path":"/run/railnet/nccl/"}}],"containers":[{"name":"c","env":[{"name":"RAILNET_POD_UID","valueFrom":{"fieldRef":{"fieldPath":"metadata.uid"}}},{"name":"B","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}],"resources":{"limits":` + seedLimits + `}}]}}`,
			wantOps: []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/env/-", "add /spec/containers/0/env/-", "add /spec/containers/0/volumeMounts"}},
		{name: "NCCL on the GPU container only, the sidecar's env and mounts untouched", ns: "default",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"volumes":[],"containers":[{"name":"side","env":[{"name":"A","value":"1"}],"volumeMounts":[{"name":"x","mountPath":"/x"}]},{"name":"train","env":[],"volumeMounts":[],"resources":{"limits":{"nvidia.com/gpu":"8"}}}]}}`,
			wantOps: []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/1/resources/limits/spidernet.io~1gpu1rdma", "add /spec/containers/1/resources/limits/spidernet.io~1gpu2rdma",
				"add /spec/containers/1/resources/limits/spidernet.io~1gpu3rdma", "add /spec/containers/1/resources/limits/spidernet.io~1gpu4rdma",
				"add /spec/containers/1/resources/limits/spidernet.io~1gpu5rdma", "add /spec/containers/1/resources/limits/spidernet.io~1gpu6rdma",
				"add /spec/containers/1/resources/limits/spidernet.io~1gpu7rdma", "add /spec/containers/1/resources/limits/spidernet.io~1gpu8rdma",
				"add /spec/containers/1/env/-", "add /spec/containers/1/env/-", "add /spec/containers/1/env/-", "add /spec/containers/1/volumeMounts/-", "add /spec/volumes/-"}},
		{name: "ncclDir that JSON escapes", ns: "default", cfg: &inject.Config{Enabled: true, NCCLDir: "/var/run/<rail\\net>&\"nccl\" é"},
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","resources":{"limits":` + seedLimits + `}}]}}`,
			wantOps: []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection",
				"add /spec/containers/0/env", "add /spec/containers/0/volumeMounts", "add /spec/volumes"},
			wantPatch: `"hostPath":{"path":"/var/run/\u003crail\\net\u003e\u0026\"nccl\" é","type":"DirectoryOrCreate"}`},
		{name: "no containers: annotations only", ns: "default",
			pod:     `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{}}`,
			wantOps: []string{"add /metadata/annotations/k8s.v1.cni.cncf.io~1networks", "add /metadata/annotations/railnet.io~1injected-networks", "add /metadata/annotations/railnet.io~1injection"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := seedStore()
			st.nsAnn = nsStore.nsAnn
			if tt.cfg != nil {
				st.cfg = *tt.cfg
			}
			// The reference: the whole pod decoded and injected.
			want := decodePod(t, tt.pod)
			want.Namespace = tt.ns
			if _, err := inject.Pod(want, st.nsAnn[tt.ns], st.cfg, st.configs); err != nil {
				t.Fatal(err)
			}
			want.Namespace = ""
			patch, got := checkPodPatch(t, &Handler{Store: st}, tt.ns, tt.pod, tt.wantOps, want)
			if !strings.Contains(string(patch), tt.wantPatch) {
				t.Errorf("patch %s\nlacks %s", patch, tt.wantPatch)
			}
			if s := got.Annotations[inject.AnnotationSummary]; !strings.Contains(s, tt.wantSummary) {
				t.Errorf("summary %q\nlacks %q", s, tt.wantSummary)
			}
		})
	}
}

// checkPodPatch sends pod (JSON) in namespace ns through h's mutating
// webhook and checks the answer: allowed, with operations wantOps (op and
// path, in order); the patch applied to pod the way the apiserver does
// gives want (compared as JSON), and keeps the members of pod injection
// does not own (image, volume sources, labels). It returns the patch and
// the patched pod.
func checkPodPatch(t *testing.T, h *Handler, ns, pod string, wantOps []string, want *corev1.Pod) ([]byte, *corev1.Pod) {
	t.Helper()
	resp := mutatePod(h, ns, pod)
	if !resp.Allowed {
		t.Fatalf("refused: %s", resp.Result.Message)
	}
	var ops []patchOp
	if len(resp.Patch) > 0 {
		if err := json.Unmarshal(resp.Patch, &ops); err != nil {
			t.Fatal(err)
		}
	}
	var gotOps []string
	for _, op := range ops {
		gotOps = append(gotOps, op.Op+" "+op.Path)
	}
	if !reflect.DeepEqual(gotOps, wantOps) {
		t.Errorf("ops =\n  %s\nwant\n  %s", strings.Join(gotOps, "\n  "), strings.Join(wantOps, "\n  "))
	}
	patched := applyJSONPatch(t, []byte(pod), resp.Patch)
	got := decodePod(t, string(patched))
	if !reflect.DeepEqual(canonical(t, got), canonical(t, want)) {
		t.Errorf("patched pod =\n%s\nwant\n%s", canonical(t, got), canonical(t, want))
	}
	for _, member := range []string{`"image":"i"`, `"emptyDir":{}`, `"labels":{"a":"b"}`} {
		if strings.Contains(pod, member) && !strings.Contains(string(patched), member) {
			t.Errorf("%s lost: %s", member, patched)
		}
	}
	return resp.Patch, got
}

// mutatePod sends pod (JSON) in namespace ns through h's mutating webhook.
func mutatePod(h *Handler, ns, pod string) *admissionv1.AdmissionResponse {
	req := &admissionv1.AdmissionRequest{UID: types.UID("u"), Kind: podKind, Operation: admissionv1.Create, Namespace: ns}
	req.Object.Raw = []byte(pod)
	return h.Mutate(context.Background(), req)
}

// applyJSONPatch applies patch (none when empty) to doc with a real
// JSON-patch library, as the apiserver does.
func applyJSONPatch(t testing.TB, doc, patch []byte) []byte {
	t.Helper()
	if len(patch) == 0 {
		return doc
	}
	p, err := jsonpatchapply.DecodePatch(patch)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("apply %s: %v", patch, err)
	}
	return out
}

func decodePod(t testing.TB, raw string) *corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	if err := json.Unmarshal([]byte(raw), &pod); err != nil {
		t.Fatal(err)
	}
	return &pod
}

// TestPodPatchOps covers what injection never does today but the patch
// must still express: removal, replacement of a quantity, and pointer
// escaping of "/" (and of "~", in TestPodPatchOpsEscape). Annotations
// other than injectionAnnotations are not in the typed pod and get no
// operation; injection writing one is an error.
func TestPodPatchOps(t *testing.T) {
	var orig podFields
	if err := json.Unmarshal([]byte(`{"metadata":{"annotations":{"k8s.v1.cni.cncf.io/networks":"1","railnet.io/injection":"x","other":"y"}},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"1"},"requests":{"cpu":"500m"}}}]}}`), &orig); err != nil {
		t.Fatal(err)
	}
	after := orig.pod()
	if _, ok := after.Annotations["other"]; ok {
		t.Error("the typed pod holds an annotation injection does not read")
	}
	delete(after.Annotations, "railnet.io/injection")
	after.Annotations["k8s.v1.cni.cncf.io/networks"] = "2"
	after.Spec.Containers[0].Resources.Limits["cpu"] = resource.MustParse("1000m") // equal: no op
	after.Spec.Containers[0].Resources.Requests["cpu"] = resource.MustParse("1")
	patch, err := podPatch(&orig, after)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"replace","path":"/metadata/annotations/k8s.v1.cni.cncf.io~1networks","value":"2"},{"op":"remove","path":"/metadata/annotations/railnet.io~1injection"},{"op":"replace","path":"/spec/containers/0/resources/requests/cpu","value":"1"}]`
	if string(patch) != want {
		t.Errorf("patch =\n%s\nwant\n%s", patch, want)
	}
	if orig.Metadata.Annotations["railnet.io/injection"] != "x" || orig.Spec.Containers[0].Resources.Requests.Cpu().String() != "500m" {
		t.Error("pod() shares maps with the original")
	}
	if patch, err := podPatch(&orig, orig.pod()); err != nil || patch != nil {
		t.Errorf("unchanged pod: patch %s, %v", patch, err)
	}
	after = orig.pod()
	after.Annotations["other"] = "z"
	if patch, err := podPatch(&orig, after); err == nil || !strings.Contains(err.Error(), "injection wrote annotation other") {
		t.Errorf("an annotation outside injectionAnnotations written: patch %s, error %v", patch, err)
	}
}

// TestPodPatchOpsEscape: "~" and "/" in a key of a map the patch writes
// key by key are escaped in the operation's path.
func TestPodPatchOpsEscape(t *testing.T) {
	var orig podFields
	if err := json.Unmarshal([]byte(`{"spec":{"containers":[{"name":"c","resources":{"limits":{"a~b/c":"1"}}}]}}`), &orig); err != nil {
		t.Fatal(err)
	}
	after := orig.pod()
	after.Spec.Containers[0].Resources.Limits["a~b/c"] = resource.MustParse("2")
	patch, err := podPatch(&orig, after)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"op":"replace","path":"/spec/containers/0/resources/limits/a~0b~1c","value":"2"}]`; string(patch) != want {
		t.Errorf("patch =\n%s\nwant\n%s", patch, want)
	}
}

// ncclOps are the operations giving container i of a pod without env,
// volumeMounts and volumes the NCCL conf file.
func ncclOps(i int) []string {
	c := "/spec/containers/" + strconv.Itoa(i)
	return []string{"add " + c + "/env", "add " + c + "/volumeMounts", "add /spec/volumes"}
}

// seedSummary is the injection summary of the seed's pod on container c.
const seedSummary = "group rdma-network (pod annotation cni.spidernet.io/rdma-resource-inject): networks spiderpool/gpu1-sriov,spiderpool/gpu2-sriov,spiderpool/gpu3-sriov,spiderpool/gpu4-sriov,spiderpool/gpu5-sriov,spiderpool/gpu6-sriov,spiderpool/gpu7-sriov,spiderpool/gpu8-sriov; 1 each of spidernet.io/gpu1rdma,spidernet.io/gpu2rdma,spidernet.io/gpu3rdma,spidernet.io/gpu4rdma,spidernet.io/gpu5rdma,spidernet.io/gpu6rdma,spidernet.io/gpu7rdma,spidernet.io/gpu8rdma on container c; NCCL conf file /run/railnet/nccl/nccl.conf"

const seedLimits = `{"spidernet.io/gpu1rdma":"1","spidernet.io/gpu2rdma":"1","spidernet.io/gpu3rdma":"1","spidernet.io/gpu4rdma":"1","spidernet.io/gpu5rdma":"1","spidernet.io/gpu6rdma":"1","spidernet.io/gpu7rdma":"1","spidernet.io/gpu8rdma":"1"}`

func seedNetworksValue(t *testing.T) string {
	t.Helper()
	pod := seedPod(map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"})
	if _, err := inject.Pod(pod, nil, inject.Config{Enabled: true}, seedStore().configs); err != nil {
		t.Fatal(err)
	}
	return pod.Annotations["k8s.v1.cni.cncf.io/networks"]
}

// jsonString is v as json.Marshal writes it.
func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// canonical is a pod's JSON re-read as generic values, so equal pods
// compare equal whatever the quantities' internal form.
func canonical(t *testing.T, p *corev1.Pod) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPodPatchListsAppendOnly: the lists injection appends to are patched
// by appending; a result that changes or drops an entry the pod had is an
// error, never a patch that would lose it.
func TestPodPatchListsAppendOnly(t *testing.T) {
	var orig podFields
	if err := json.Unmarshal([]byte(`{"spec":{"volumes":[{"name":"v","hostPath":{"path":"/x"}}],"containers":[{"name":"c","env":[{"name":"A","value":"1"}],"volumeMounts":[{"name":"v","mountPath":"/v"}]}]}}`), &orig); err != nil {
		t.Fatal(err)
	}
	if p := orig.pod(); p.Spec.Volumes[0].HostPath.Path != "/x" || p.Spec.Containers[0].Env[0].Value != "1" {
		t.Fatalf("pod() = %+v", p.Spec)
	}
	for name, change := range map[string]func(*corev1.Pod){
		"env entry renamed":    func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "B" },
		"env entry dropped":    func(p *corev1.Pod) { p.Spec.Containers[0].Env = nil },
		"mount moved":          func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "/w" },
		"volume renamed":       func(p *corev1.Pod) { p.Spec.Volumes[0].Name = "w" },
		"volume put before it": func(p *corev1.Pod) { p.Spec.Volumes = append([]corev1.Volume{{Name: "new"}}, p.Spec.Volumes...) },
	} {
		after := orig.pod()
		change(after)
		if patch, err := podPatch(&orig, after); err == nil {
			t.Errorf("%s: patch %s, want an error", name, patch)
		}
	}
	after := orig.pod()
	after.Spec.Volumes = append(after.Spec.Volumes, corev1.Volume{Name: "w"})
	patch, err := podPatch(&orig, after)
	if want := `[{"op":"add","path":"/spec/volumes/-","value":{"name":"w"}}]`; err != nil || string(patch) != want {
		t.Errorf("patch %s, %v; want %s", patch, err, want)
	}
}

// draStore is seedStore with the group in DRA mode and the 1- and 2-GPU
// claim templates in namespace train.
func draStore() *memStore {
	st := seedStore()
	for _, c := range st.configs {
		c.Annotations[drainject.ModeAnnotation] = drainject.ModeDRA
	}
	st.templates = map[string]bool{"train/railnet-rdma-network-1": true, "train/railnet-rdma-network-2": true, "train/railnet-rdma-network-3": true}
	st.nsAnn = map[string]map[string]string{"train-ns": {spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}}
	st.templates["train-ns/railnet-rdma-network-2"] = true
	return st
}

// TestPodPatchDRA sends pods of a DRA-mode group through the mutating
// handler, applies the patch with a real JSON-patch library and compares
// the result with what drainject plans from a full decode: the claim, the
// GPU containers' claims instead of their GPU limits, the group's one
// network, the summary.
func TestPodPatchDRA(t *testing.T) {
	const ann = `"cni.spidernet.io/rdma-resource-inject":"rdma-network"`
	const (
		networksOp = "add /metadata/annotations/k8s.v1.cni.cncf.io~1networks"
		summaryOp  = "add /metadata/annotations/railnet.io~1injection"
	)
	tests := []struct {
		name, ns, pod string
		wantOps       []string
		wantSummary   string
	}{
		{name: "2-GPU container: claim added, GPU limit and request removed", ns: "train",
			pod: `{"metadata":{"generateName":"t-","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1","nvidia.com/gpu":"2"},"requests":{"nvidia.com/gpu":"2"}}}]}}`,
			wantOps: []string{networksOp, summaryOp,
				"remove /spec/containers/0/resources/limits/nvidia.com~1gpu", "remove /spec/containers/0/resources/requests/nvidia.com~1gpu",
				"add /spec/resourceClaims", "add /spec/containers/0/resources/claims"},
			wantSummary: "group rdma-network (pod annotation cni.spidernet.io/rdma-resource-inject): DRA mode, claim railnet-rails from ResourceClaimTemplate railnet-rdma-network-2 (2 GPUs, each with a rail on its PCIe root); network spiderpool/railnet-dra-rdma-network"},
		{name: "the pod's own claims and networks are kept, railnet's appended", ns: "train",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `,"k8s.v1.cni.cncf.io/networks":"other/storage"}},"spec":{"resourceClaims":[{"name":"scratch","resourceClaimName":"scratch"}],` +
				`"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"},"claims":[{"name":"scratch"}]}}]}}`,
			wantOps: []string{"replace /metadata/annotations/k8s.v1.cni.cncf.io~1networks", summaryOp,
				"remove /spec/containers/0/resources/limits/nvidia.com~1gpu",
				"add /spec/resourceClaims/-", "add /spec/containers/0/resources/claims/-"}},
		{name: "null claims are replaced", ns: "train",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"resourceClaims":null,"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"},"claims":null}}]}}`,
			wantOps: []string{networksOp, summaryOp, "remove /spec/containers/0/resources/limits/nvidia.com~1gpu",
				"add /spec/resourceClaims", "add /spec/containers/0/resources/claims"}},
		{name: "GPU containers share the claim; the sidecar without resources is untouched", ns: "train",
			pod: `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"containers":[{"name":"side"},{"name":"a","resources":{"limits":{"nvidia.com/gpu":"2"}}},{"name":"b","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}}`,
			wantOps: []string{networksOp, summaryOp, "remove /spec/containers/1/resources/limits/nvidia.com~1gpu",
				"remove /spec/containers/2/resources/limits/nvidia.com~1gpu",
				"add /spec/resourceClaims", "add /spec/containers/1/resources/claims", "add /spec/containers/2/resources/claims"},
			wantSummary: "group rdma-network (pod annotation cni.spidernet.io/rdma-resource-inject): DRA mode, claim railnet-rails from ResourceClaimTemplate railnet-rdma-network-3 (3 GPUs, each with a rail on its PCIe root); network spiderpool/railnet-dra-rdma-network"},
		{name: "group from the namespace", ns: "train-ns",
			pod:         `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"2"}}}]}}`,
			wantOps:     []string{"add /metadata/annotations", "remove /spec/containers/0/resources/limits/nvidia.com~1gpu", "add /spec/resourceClaims", "add /spec/containers/0/resources/claims"},
			wantSummary: "group rdma-network (namespace annotation cni.spidernet.io/rdma-resource-inject): DRA mode, claim railnet-rails from ResourceClaimTemplate railnet-rdma-network-2 (2 GPUs, each with a rail on its PCIe root); network spiderpool/railnet-dra-rdma-network"},
		{name: "group from the namespace, pod without GPUs: left alone", ns: "train-ns",
			pod:     `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"1"}}}]}}`,
			wantOps: nil},
		{name: "already injected: no patch", ns: "train",
			pod:     `{"metadata":{"name":"p","annotations":{` + ann + `}},"spec":{"resourceClaims":[{"name":"railnet-rails","resourceClaimTemplateName":"railnet-rdma-network-2"}],"containers":[{"name":"c","resources":{"claims":[{"name":"railnet-rails"}]}}]}}`,
			wantOps: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := draStore()
			// The reference: the whole pod decoded and planned; a pod of
			// a namespace-wide group without GPUs stays as it is.
			want := decodePod(t, tt.pod)
			want.Namespace = tt.ns
			ir, _ := injectgroup.Lookup(want.Annotations, st.nsAnn[tt.ns])
			g, err := drainject.Resolve(ir, st.configs, drainject.PodRef(want))
			if err != nil || g == nil {
				t.Fatalf("Resolve = %v, %v", g, err)
			}
			if !ir.FromNamespace || drainject.GPUs(want, drainject.GPUResource) > 0 {
				out, tpl, changed, err := drainject.Plan(want, g.Name, drainject.Options{GPUResource: drainject.GPUResource, Network: g.Network()})
				if err != nil {
					t.Fatal(err)
				}
				if changed {
					out.Annotations[inject.AnnotationSummary] = drainject.Summary(ir, tpl, drainject.GPUs(want, drainject.GPUResource), g.Network())
				}
				want = out
			}
			want.Namespace = ""
			_, got := checkPodPatch(t, &Handler{Store: st}, tt.ns, tt.pod, tt.wantOps, want)
			if tt.wantSummary != "" && got.Annotations[inject.AnnotationSummary] != tt.wantSummary {
				t.Errorf("summary %q, want %q", got.Annotations[inject.AnnotationSummary], tt.wantSummary)
			}
		})
	}
}

// TestPodPatchClaimOps covers the claim shapes the handler's pods do not
// reach: a container without a resources member gets one holding only its
// claims, and resources without claims get the list.
func TestPodPatchClaimOps(t *testing.T) {
	src := `{"spec":{"containers":[{"name":"a"},{"name":"b","resources":{"limits":{"cpu":"1"}}},{"name":"c","resources":{}}]}}`
	var orig podFields
	if err := json.Unmarshal([]byte(src), &orig); err != nil {
		t.Fatal(err)
	}
	after := orig.pod()
	claim := corev1.ResourceClaim{Name: "x"}
	for i := range after.Spec.Containers {
		after.Spec.Containers[i].Resources.Claims = []corev1.ResourceClaim{claim}
	}
	after.Spec.Containers[2].Resources.Limits = corev1.ResourceList{"cpu": resource.MustParse("2")}
	patch, err := podPatch(&orig, after)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"add","path":"/spec/containers/2/resources/limits","value":{"cpu":"2"}},` +
		`{"op":"add","path":"/spec/containers/0/resources","value":{"claims":[{"name":"x"}]}},` +
		`{"op":"add","path":"/spec/containers/1/resources/claims","value":[{"name":"x"}]},` +
		`{"op":"add","path":"/spec/containers/2/resources/claims","value":[{"name":"x"}]}]`
	if string(patch) != want {
		t.Errorf("patch =\n%s\nwant\n%s", patch, want)
	}
	applied := applyJSONPatch(t, []byte(src), patch)
	wantPod := `{"spec":{"containers":[{"name":"a","resources":{"claims":[{"name":"x"}]}},{"name":"b","resources":{"limits":{"cpu":"1"},"claims":[{"name":"x"}]}},{"name":"c","resources":{"limits":{"cpu":"2"},"claims":[{"name":"x"}]}}]}}`
	if string(applied) != wantPod {
		t.Errorf("applied =\n%s\nwant\n%s", applied, wantPod)
	}
}

// TestDevicePluginPatchUnchangedByDRAGroups: a cluster that also has a
// DRA-mode group answers a device-plugin group's pod byte for byte as a
// cluster without one.
func TestDevicePluginPatchUnchangedByDRAGroups(t *testing.T) {
	pod := `{"metadata":{"generateName":"rdma-tools-","annotations":{"cni.spidernet.io/rdma-resource-inject":"rdma-network"}},"spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"2"}}}]}}`
	mutate := func(st *memStore) []byte {
		resp := mutatePod(&Handler{Store: st}, "default", pod)
		if !resp.Allowed || len(resp.Patch) == 0 {
			t.Fatalf("allowed %v, patch %s", resp.Allowed, resp.Patch)
		}
		return resp.Patch
	}
	plain := mutate(seedStore())
	mixed := seedStore()
	for _, c := range draStore().configs {
		c.Name = strings.Replace(c.Name, "sriov", "dra", 1)
		c.Annotations[spiderv2beta1.AnnotationRDMAResourceInject] = "dra-network"
		mixed.configs = append(mixed.configs, c)
	}
	if got := mutate(mixed); string(got) != string(plain) {
		t.Errorf("with a DRA group beside it the patch is\n%s\nwithout\n%s", got, plain)
	}
	if strings.Contains(string(plain), "claims") || strings.Contains(string(plain), `"remove"`) {
		t.Errorf("device-plugin patch touches claims or removes the GPU limit: %s", plain)
	}
}

// TestMutatePodDRARefusals: every refusal of DRA mode names the pod, the
// group or the object at fault, and what to do.
func TestMutatePodDRARefusals(t *testing.T) {
	const ann = `"cni.spidernet.io/rdma-resource-inject":"rdma-network"`
	gpuPod := func(annotations string, gpus int) string {
		return fmt.Sprintf(`{"metadata":{"generateName":"t-","annotations":{%s}},"spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"%d"}}}]}}`, annotations, gpus)
	}
	tests := []struct {
		name       string
		store      func(*memStore)
		pod        string
		wantReason string
		want       string
	}{
		{"no GPU", nil, `{"metadata":{"generateName":"t-","annotations":{` + ann + `}},"spec":{"containers":[{"name":"c"}]}}`, drainject.ReasonNoGPU,
			`pod train/t-*: inject group "rdma-network" is in DRA mode, where rails follow GPUs, and no container asks for nvidia.com/gpu; ask for GPUs, or name a device-plugin mode group`},
		{"more GPUs than a node has", nil, gpuPod(ann, 9), drainject.ReasonNoGPU,
			`pod train/t-*: inject group "rdma-network" is in DRA mode and the pod asks for 9 nvidia.com/gpu; a claim pairs at most 8 GPUs (one node's) with their rails: ask for fewer`},
		{"claim template missing", nil, gpuPod(ann, 4), drainject.ReasonNoTemplate,
			`pod train/t-*: inject group "rdma-network" is in DRA mode and its claim template, ResourceClaimTemplate train/railnet-rdma-network-4, does not exist; have railnet keep the group's templates in this namespace: kubectl annotate namespace train railnet.io/claim-templates=rdma-network`},
		{"webhook without DRA mode", func(m *memStore) { m.noDRA = true }, gpuPod(ann, 2), drainject.ReasonMode,
			`pod train/t-*: inject group "rdma-network" is in DRA mode (annotation railnet.io/inject-mode=dra on its SpiderMultusConfigs) but railnet runs without DRA mode; install railnet with --set dra.enabled=true, or remove the annotation to use device-plugin mode`},
		{"mixed group", func(m *memStore) { delete(m.configs[3].Annotations, drainject.ModeAnnotation) }, gpuPod(ann, 2), drainject.ReasonMode,
			`inject group "rdma-network" mixes modes: spiderpool/gpu1-sriov, spiderpool/gpu2-sriov, spiderpool/gpu3-sriov, spiderpool/gpu5-sriov, spiderpool/gpu6-sriov, spiderpool/gpu7-sriov, spiderpool/gpu8-sriov in DRA mode, spiderpool/gpu4-sriov not; annotate every member railnet.io/inject-mode=dra, or none`},
		{"DRA group named with another", func(m *memStore) {
			m.configs[0].Annotations[spiderv2beta1.AnnotationRDMAResourceInject] = "rdma-network,storage"
		}, gpuPod(`"cni.spidernet.io/rdma-resource-inject":"rdma-network,storage"`, 2), drainject.ReasonMode,
			`pod train/t-* asks for inject groups "rdma-network,storage"; group "rdma-network" is in DRA mode, where the pod's rails follow its GPUs, and cannot be combined with other groups: name it alone`},
		{"members in two namespaces", func(m *memStore) { m.configs[7].Namespace = "rails" }, gpuPod(ann, 2), drainject.ReasonMode,
			`pod train/t-*: inject group "rdma-network" is in DRA mode and its SpiderMultusConfigs are in namespaces rails, spiderpool; its one network (railnet-dra-rdma-network) is rendered beside them: keep the group's SpiderMultusConfigs in one namespace`},
		{"member without a pool", func(m *memStore) { m.configs[1].Spec.Macvlan.IPPools = nil }, gpuPod(ann, 2), inject.ReasonUnusable,
			`pod train/t-* asks for inject group "rdma-network" (DRA mode), whose SpiderMultusConfigs spiderpool/gpu2-sriov have no IP pool; set spec.macvlan.ippools.ipv4 (or .ipv6) on them`},
		{"two members on one rail", func(m *memStore) { m.configs[1].Spec.Macvlan.Master = []string{"enp11s0f0np0"} }, gpuPod(ann, 2), drainject.ReasonMode,
			`pod train/t-*: SpiderMultusConfigs spiderpool/gpu1-sriov and spiderpool/gpu2-sriov of inject group "rdma-network" (DRA mode) are both on rail 0 (master enp11s0f0np0); keep one config per rail in the group; the group has no network until then`},
		{"unknown mode", func(m *memStore) { m.configs[0].Annotations[drainject.ModeAnnotation] = "DRA" }, gpuPod(ann, 2), drainject.ReasonMode,
			`SpiderMultusConfig spiderpool/gpu1-sriov of inject group "rdma-network": annotation railnet.io/inject-mode="DRA"; use "dra" or "device-plugin" (or leave it out)`},
		{"group that cannot name objects", func(m *memStore) {
			for _, c := range m.configs {
				c.Annotations[spiderv2beta1.AnnotationRDMAResourceInject] = "RDMA_net"
			}
		}, gpuPod(`"cni.spidernet.io/rdma-resource-inject":"RDMA_net"`, 2), drainject.ReasonMode,
			`pod train/t-*: inject group "RDMA_net" is in DRA mode, which names the group's network and claim templates after it, and "RDMA_net" cannot name an object`},
		{"malformed networks annotation", nil, gpuPod(ann+`,"k8s.v1.cni.cncf.io/networks":"[{"`, 2), drainject.ReasonNetworks,
			`pod train/t-*: annotation k8s.v1.cni.cncf.io/networks is not a JSON list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := draStore()
			if tt.store != nil {
				tt.store(st)
			}
			rec := newCountRecorder()
			resp := mutatePod(&Handler{Store: st, Metrics: rec}, "train", tt.pod)
			if resp.Allowed {
				t.Fatalf("allowed with patch %s", resp.Patch)
			}
			if !strings.Contains(resp.Result.Message, tt.want) {
				t.Errorf("message\n  %s\nwant it to contain\n  %s", resp.Result.Message, tt.want)
			}
			if resp.Result.Code != 403 || string(resp.Result.Reason) != tt.wantReason || rec.refused[tt.wantReason] != 1 {
				t.Errorf("code %d reason %q (counted %v), want 403 %q", resp.Result.Code, resp.Result.Reason, rec.refused, tt.wantReason)
			}
		})
	}
}

// TestReleasedPodReused: a typed pod given back after injection changed
// everything it can (annotations, containers' resources, claims, lists,
// the pod's claims and volumes, DRA's replaced containers) is made into
// another pod exactly as a new one is, with fewer and more containers.
func TestReleasedPodReused(t *testing.T) {
	decode := func(s string) *podFields {
		var f podFields
		if err := json.Unmarshal([]byte(s), &f); err != nil {
			t.Fatal(err)
		}
		return &f
	}
	big := decode(`{"metadata":{"name":"a","namespace":"n","annotations":{"x":"1"}},"spec":{"resourceClaims":[{"name":"c"}],"containers":[` +
		`{"name":"c0","resources":{"limits":{"cpu":"1"},"requests":{"cpu":"1"},"claims":[{"name":"c"}]},"env":[{"name":"E","value":"1"}],"volumeMounts":[{"name":"v","mountPath":"/v"}]},` +
		`{"name":"c1"},{"name":"c2"}],"volumes":[{"name":"v","hostPath":{"path":"/v"}}]}}`)
	for _, next := range []*podFields{
		decode(`{"metadata":{"generateName":"g-"},"spec":{"containers":[{"name":"only"}]}}`),
		decode(`{"spec":{}}`),
		decode(`{"metadata":{"annotations":{"y":"2"}},"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"},{"name":"e"}]}}`),
		big,
	} {
		used := big.fill(new(corev1.Pod))
		used.Annotations["injected"] = "yes"
		used.Labels = map[string]string{"l": "1"}
		for i := range used.Spec.Containers {
			c := &used.Spec.Containers[i]
			c.Resources.Limits = corev1.ResourceList{"r": resource.MustParse("1")}
			c.Resources.Claims = append(c.Resources.Claims, corev1.ResourceClaim{Name: "x"})
			c.Env = append(c.Env, corev1.EnvVar{Name: "N", Value: "v"})
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "m"})
			c.Image = "set"
		}
		used.Spec.Volumes = append(used.Spec.Volumes, corev1.Volume{Name: "w"})
		used.Spec.ResourceClaims = append(used.Spec.ResourceClaims, corev1.PodResourceClaim{Name: "y"})
		releasePod(used)
		got, want := next.fill(used), next.fill(new(corev1.Pod))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("reused pod:\n%#v\nnew pod:\n%#v", got, want)
		}
	}
}
