package admission

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
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
			h := &Handler{Store: st}
			req := &admissionv1.AdmissionRequest{UID: types.UID("u"), Kind: podKind, Operation: admissionv1.Create, Namespace: tt.ns}
			req.Object.Raw = []byte(tt.pod)
			resp := h.Mutate(context.Background(), req)
			if !resp.Allowed {
				t.Fatalf("refused: %s", resp.Result.Message)
			}
			var ops []patchOp
			if len(resp.Patch) > 0 {
				if err := json.Unmarshal(resp.Patch, &ops); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, op := range ops {
				got = append(got, op.Op+" "+op.Path)
			}
			if !reflect.DeepEqual(got, tt.wantOps) {
				t.Errorf("ops =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.wantOps, "\n  "))
			}
			if !strings.Contains(string(resp.Patch), tt.wantPatch) {
				t.Errorf("patch %s\nlacks %s", resp.Patch, tt.wantPatch)
			}
			patched := []byte(tt.pod)
			if len(resp.Patch) > 0 {
				p, err := jsonpatchapply.DecodePatch(resp.Patch)
				if err != nil {
					t.Fatal(err)
				}
				if patched, err = p.Apply(patched); err != nil {
					t.Fatalf("apply %s: %v", resp.Patch, err)
				}
			}
			// The reference: the whole pod decoded and injected.
			var want corev1.Pod
			if err := json.Unmarshal([]byte(tt.pod), &want); err != nil {
				t.Fatal(err)
			}
			want.Namespace = tt.ns
			if _, err := inject.Pod(&want, st.nsAnn[tt.ns], st.cfg, st.configs); err != nil {
				t.Fatal(err)
			}
			want.Namespace = ""
			var gotPod corev1.Pod
			if err := json.Unmarshal(patched, &gotPod); err != nil {
				t.Fatal(err)
			}
			if s := gotPod.Annotations[inject.AnnotationSummary]; !strings.Contains(s, tt.wantSummary) {
				t.Errorf("summary %q\nlacks %q", s, tt.wantSummary)
			}
			if !reflect.DeepEqual(canonical(t, &gotPod), canonical(t, &want)) {
				t.Errorf("patched pod =\n%s\nwant\n%s", canonical(t, &gotPod), canonical(t, &want))
			}
			// Members injection does not own survive untouched.
			if strings.Contains(tt.pod, `"image":"i"`) && !strings.Contains(string(patched), `"image":"i"`) {
				t.Errorf("image lost: %s", patched)
			}
			if strings.Contains(tt.pod, `"emptyDir":{}`) && !strings.Contains(string(patched), `"emptyDir":{}`) {
				t.Errorf("volume source lost: %s", patched)
			}
			if strings.Contains(tt.pod, `"labels":{"a":"b"}`) && !strings.Contains(string(patched), `"labels":{"a":"b"}`) {
				t.Errorf("labels lost: %s", patched)
			}
		})
	}
}

// TestPodPatchOps covers what injection never does today but the patch
// must still express: removal, replacement of a quantity, and pointer
// escaping of "~" and "/".
func TestPodPatchOps(t *testing.T) {
	var orig podFields
	if err := json.Unmarshal([]byte(`{"metadata":{"annotations":{"a~b/c":"1","gone":"x"}},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"1"},"requests":{"cpu":"500m"}}}]}}`), &orig); err != nil {
		t.Fatal(err)
	}
	after := orig.pod()
	delete(after.Annotations, "gone")
	after.Annotations["a~b/c"] = "2"
	after.Spec.Containers[0].Resources.Limits["cpu"] = resource.MustParse("1000m") // equal: no op
	after.Spec.Containers[0].Resources.Requests["cpu"] = resource.MustParse("1")
	patch, err := podPatch(&orig, after)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"replace","path":"/metadata/annotations/a~0b~1c","value":"2"},{"op":"remove","path":"/metadata/annotations/gone"},{"op":"replace","path":"/spec/containers/0/resources/requests/cpu","value":"1"}]`
	if string(patch) != want {
		t.Errorf("patch =\n%s\nwant\n%s", patch, want)
	}
	if orig.Metadata.Annotations["gone"] != "x" || orig.Spec.Containers[0].Resources.Requests.Cpu().String() != "500m" {
		t.Error("pod() shares maps with the original")
	}
	if patch, err := podPatch(&orig, orig.pod()); err != nil || patch != nil {
		t.Errorf("unchanged pod: patch %s, %v", patch, err)
	}
}

// ncclOps are the operations giving container i of a pod without env,
// volumeMounts and volumes the NCCL conf file.
func ncclOps(i int) []string {
	c := "/spec/containers/" + strconv.Itoa(i)
	return []string{"add " + c + "/env", "add " + c + "/volumeMounts", "add /spec/volumes"}
}

const seedLimits = `{"spidernet.io/gpu1rdma":"1","spidernet.io/gpu2rdma":"1","spidernet.io/gpu3rdma":"1","spidernet.io/gpu4rdma":"1","spidernet.io/gpu5rdma":"1","spidernet.io/gpu6rdma":"1","spidernet.io/gpu7rdma":"1","spidernet.io/gpu8rdma":"1"}`

func seedNetworksValue(t *testing.T) string {
	t.Helper()
	pod := seedPod(map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"})
	if _, err := inject.Pod(pod, nil, inject.Config{Enabled: true}, seedStore().configs); err != nil {
		t.Fatal(err)
	}
	return pod.Annotations["k8s.v1.cni.cncf.io/networks"]
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
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

// TestEncodeOps writes what json.Marshal writes, for every value kind a
// patch carries and strings that need escaping.
func TestEncodeOps(t *testing.T) {
	ops := []patchOp{
		{Op: "add", Path: "/metadata/annotations/a~1b", Value: "plain"},
		{Op: "add", Path: "/x", Value: "[{\"name\":\"a\"},\n{\"name\":\"<b>&é\u2028\"}]\t\\"},
		{Op: "add", Path: "/y", Value: "a\r\t\b\f\x01\x7f z<>&\"\\"},
		{Op: "replace", Path: "/p\"q", Value: ""},
		{Op: "remove", Path: "/r"},
		{Op: "add", Path: "/l", Value: corev1.ResourceList{"b/x": resource.MustParse("1"), "a": resource.MustParse("500m"), "c": resource.MustParse("2Gi")}},
		{Op: "add", Path: "/e", Value: corev1.ResourceList{}},
		{Op: "add", Path: "/u", Value: map[corev1.ResourceName]resource.Quantity{"x": resource.MustParse("1")}},
		{Op: "add", Path: "/m", Value: map[string]string{"k": "v"}},
		{Op: "add", Path: "/n", Value: map[string]corev1.ResourceList{"limits": {"a": resource.MustParse("1")}}},
	}
	got, err := encodeOps(ops)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("encodeOps =\n%s\njson.Marshal =\n%s", got, want)
	}
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
