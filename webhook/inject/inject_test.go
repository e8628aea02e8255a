package inject

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/injectgroup/injectgrouptest"
	"github.com/railnet/railnet/api/networks"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

const rdmaKey = spiderv2beta1.AnnotationRDMAResourceInject
const netKey = spiderv2beta1.AnnotationNetworkResourceInject

func pod(ann map[string]string, containers ...corev1.Container) *corev1.Pod {
	if len(containers) == 0 {
		containers = []corev1.Container{{Name: "main"}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "worker-0", Annotations: ann},
		Spec:       corev1.PodSpec{Containers: containers},
	}
}

var enabled = Config{Enabled: true}

const seedNetworks = `[{"name":"gpu1-macvlan","namespace":"spiderpool"},
{"name":"gpu2-macvlan","namespace":"spiderpool"},
{"name":"gpu3-macvlan","namespace":"spiderpool"},
{"name":"gpu4-macvlan","namespace":"spiderpool"},
{"name":"gpu5-macvlan","namespace":"spiderpool"},
{"name":"gpu6-macvlan","namespace":"spiderpool"},
{"name":"gpu7-macvlan","namespace":"spiderpool"},
{"name":"gpu8-macvlan","namespace":"spiderpool"}]`

func TestPodSeedScenario(t *testing.T) {
	p := pod(map[string]string{rdmaKey: "rdma-network"})
	res, err := Pod(p, nil, enabled, injectgrouptest.Seed())
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Annotations[networks.Annotation]; got != seedNetworks {
		t.Errorf("networks annotation =\n%s\nwant\n%s", got, seedNetworks)
	}
	want := corev1.ResourceList{}
	for n := 1; n <= 8; n++ {
		want[corev1.ResourceName(fmt.Sprintf("spidernet.io/gpu%drdma", n))] = resource.MustParse("1")
	}
	if got := p.Spec.Containers[0].Resources.Limits; !reflect.DeepEqual(got, want) {
		t.Errorf("limits = %v, want %v", got, want)
	}
	if res.Container != "main" || len(res.Resources) != 8 || res.Request.Groups[0] != "rdma-network" {
		t.Errorf("result = %+v", res)
	}
	// Idempotent: a second run leaves the pod as it is.
	again := p.DeepCopy()
	if _, err := Pod(again, nil, enabled, injectgrouptest.Seed()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, p) {
		t.Errorf("second run changed the pod:\n%+v\nvs\n%+v", again, p)
	}
}

func TestPodNoChange(t *testing.T) {
	tests := []struct {
		name  string
		ann   map[string]string
		nsAnn map[string]string
		cfg   Config
	}{
		{name: "no annotation", cfg: enabled},
		{name: "disabled", ann: map[string]string{rdmaKey: "rdma-network"}, cfg: Config{}},
		{name: "excluded namespace", ann: map[string]string{rdmaKey: "rdma-network"},
			cfg: Config{Enabled: true, NamespacesExclude: []string{"train"}}},
		{name: "not in include list", ann: map[string]string{rdmaKey: "rdma-network"},
			cfg: Config{Enabled: true, NamespacesInclude: []string{"other"}}},
		{name: "namespace group does not override the pod's own networks",
			ann: map[string]string{networks.Annotation: "spiderpool/mine"}, nsAnn: map[string]string{rdmaKey: "rdma-network"}, cfg: enabled},
		{name: "exclude wins over include", ann: map[string]string{rdmaKey: "rdma-network"},
			cfg: Config{Enabled: true, NamespacesInclude: []string{"train"}, NamespacesExclude: []string{"train"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod(tt.ann)
			before := p.DeepCopy()
			res, err := Pod(p, tt.nsAnn, tt.cfg, injectgrouptest.Seed())
			if err != nil || res != nil {
				t.Fatalf("Pod() = %+v, %v; want nil, nil", res, err)
			}
			if !reflect.DeepEqual(p, before) {
				t.Errorf("pod changed")
			}
		})
	}
}

func TestPodGroupsAndOrder(t *testing.T) {
	multi := injectgrouptest.Macvlan(3, "eth10", rdmaKey, "a, b")
	tests := []struct {
		name      string
		podAnn    map[string]string
		nsAnn     map[string]string
		configs   []*spiderv2beta1.SpiderMultusConfig
		wantNets  []string
		wantFromN bool
	}{
		{
			name:     "natural order of masters, then namespace/name",
			podAnn:   map[string]string{rdmaKey: "g"},
			configs:  []*spiderv2beta1.SpiderMultusConfig{injectgrouptest.Macvlan(1, "eth10", rdmaKey, "g"), injectgrouptest.Macvlan(2, "eth2", rdmaKey, "g"), injectgrouptest.Macvlan(4, "eth2", rdmaKey, "g")},
			wantNets: []string{"spiderpool/gpu2-macvlan", "spiderpool/gpu4-macvlan", "spiderpool/gpu1-macvlan"},
		},
		{
			name:     "comma-separated config annotation puts one config in two groups; deduplicated",
			podAnn:   map[string]string{rdmaKey: "a,b"},
			configs:  []*spiderv2beta1.SpiderMultusConfig{multi, injectgrouptest.Macvlan(1, "eth2", rdmaKey, "b")},
			wantNets: []string{"spiderpool/gpu1-macvlan", "spiderpool/gpu3-macvlan"},
		},
		{
			name:     "pod annotation wins over namespace annotation",
			podAnn:   map[string]string{netKey: "pod-group"},
			nsAnn:    map[string]string{rdmaKey: "ns-group"},
			configs:  []*spiderv2beta1.SpiderMultusConfig{injectgrouptest.Macvlan(1, "eth2", netKey, "pod-group"), injectgrouptest.Macvlan(2, "eth3", rdmaKey, "ns-group")},
			wantNets: []string{"spiderpool/gpu1-macvlan"},
		},
		{
			name:      "namespace annotation used when the pod has none",
			nsAnn:     map[string]string{rdmaKey: "ns-group"},
			configs:   []*spiderv2beta1.SpiderMultusConfig{injectgrouptest.Macvlan(1, "eth2", netKey, "ns-group"), injectgrouptest.Macvlan(2, "eth3", rdmaKey, "ns-group")},
			wantNets:  []string{"spiderpool/gpu2-macvlan"},
			wantFromN: true,
		},
		{
			name:     "rdma key consulted before network key on the pod",
			podAnn:   map[string]string{rdmaKey: "r", netKey: "n"},
			configs:  []*spiderv2beta1.SpiderMultusConfig{injectgrouptest.Macvlan(1, "eth2", netKey, "n"), injectgrouptest.Macvlan(2, "eth3", rdmaKey, "r")},
			wantNets: []string{"spiderpool/gpu2-macvlan"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod(tt.podAnn)
			res, err := Pod(p, tt.nsAnn, enabled, tt.configs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Networks {
				got = append(got, r.Namespace+"/"+r.Name)
			}
			if !reflect.DeepEqual(got, tt.wantNets) {
				t.Errorf("networks = %v, want %v", got, tt.wantNets)
			}
			if res.Request.FromNamespace != tt.wantFromN {
				t.Errorf("FromNamespace = %v", res.Request.FromNamespace)
			}
		})
	}
}

func TestPodResources(t *testing.T) {
	gpu := corev1.Container{Name: "trainer", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("8")}}}
	side := corev1.Container{Name: "sidecar", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{"spidernet.io/gpu1rdma": resource.MustParse("2"), corev1.ResourceCPU: resource.MustParse("1")}}}
	configs := []*spiderv2beta1.SpiderMultusConfig{injectgrouptest.Macvlan(1, "eth1", rdmaKey, "g"), injectgrouptest.Macvlan(2, "eth2", rdmaKey, "g")}
	p := pod(map[string]string{rdmaKey: "g"}, side, gpu)
	p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	res, err := Pod(p, nil, enabled, configs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Container != "trainer" {
		t.Errorf("container = %q, want trainer (the GPU container)", res.Container)
	}
	wantGPU := corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("8"), "spidernet.io/gpu2rdma": resource.MustParse("1")}
	if got := p.Spec.Containers[1].Resources.Limits; !reflect.DeepEqual(got, wantGPU) {
		t.Errorf("trainer limits = %v, want %v (gpu1rdma already on the sidecar)", got, wantGPU)
	}
	if got := p.Spec.Containers[0].Resources.Limits["spidernet.io/gpu1rdma"]; got.Value() != 2 {
		t.Errorf("sidecar's own resource changed to %v", got)
	}
	if p.Spec.InitContainers[0].Resources.Limits != nil {
		t.Errorf("init container touched")
	}
}

func TestPodNetworkResourceInjectWithoutResource(t *testing.T) {
	c := injectgrouptest.Macvlan(1, "eth1", netKey, "underlay")
	c.Spec.Macvlan.RDMAResourceName = ""
	c.Spec.Macvlan.IPPools = nil // no resource → pools not required
	p := pod(map[string]string{netKey: "underlay"})
	res, err := Pod(p, nil, enabled, []*spiderv2beta1.SpiderMultusConfig{c})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 0 || p.Spec.Containers[0].Resources.Limits != nil {
		t.Errorf("resources injected without a resource name: %v", p.Spec.Containers[0].Resources.Limits)
	}
	if got := p.Annotations[networks.Annotation]; got != `[{"name":"gpu1-macvlan","namespace":"spiderpool"}]` {
		t.Errorf("networks = %s", got)
	}
}

func TestPodExistingNetworks(t *testing.T) {
	configs := injectgrouptest.Seed()
	tests := []struct {
		name    string
		ann     map[string]string
		wantErr string
	}{
		{name: "equal to what railnet writes", ann: map[string]string{rdmaKey: "rdma-network", networks.Annotation: seedNetworks}},
		{name: "same networks in shorthand form", ann: map[string]string{rdmaKey: "rdma-network",
			networks.Annotation: "spiderpool/gpu1-macvlan,spiderpool/gpu2-macvlan,spiderpool/gpu3-macvlan,spiderpool/gpu4-macvlan,spiderpool/gpu5-macvlan,spiderpool/gpu6-macvlan,spiderpool/gpu7-macvlan,spiderpool/gpu8-macvlan"}},
		{name: "railnet's own stale value is replaced", ann: map[string]string{rdmaKey: "rdma-network",
			networks.Annotation: "spiderpool/old", AnnotationInjected: "spiderpool/old"}},
		{name: "user's own value conflicts", ann: map[string]string{rdmaKey: "rdma-network", networks.Annotation: "spiderpool/mine"},
			wantErr: `pod train/worker-0 sets k8s.v1.cni.cncf.io/networks itself and also asks for inject group "rdma-network" (annotation cni.spidernet.io/rdma-resource-inject); use one or the other: remove k8s.v1.cni.cncf.io/networks to let railnet inject the group, or remove cni.spidernet.io/rdma-resource-inject`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod(tt.ann)
			_, err := Pod(p, nil, enabled, configs)
			if tt.wantErr != "" {
				checkRefusal(t, err, ReasonConflict, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Annotations[networks.Annotation]; got != seedNetworks && got != tt.ann[networks.Annotation] {
				t.Errorf("networks = %s", got)
			}
			if p.Annotations[networks.Annotation] == "spiderpool/old" {
				t.Errorf("stale value kept")
			}
		})
	}
}

func TestPodRefusals(t *testing.T) {
	noRes := injectgrouptest.Macvlan(1, "eth1", rdmaKey, "g")
	noRes.Spec.Macvlan.RDMAResourceName = ""
	noPool := injectgrouptest.Macvlan(2, "eth2", rdmaKey, "g")
	noPool.Spec.Macvlan.IPPools = nil
	sriovNoRes := &spiderv2beta1.SpiderMultusConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "net", Name: "vf", Annotations: map[string]string{rdmaKey: "g"}},
		Spec:       spiderv2beta1.MultusCNIConfigSpec{CNIType: ptr(spiderv2beta1.CNITypeSRIOV), SRIOV: &spiderv2beta1.SRIOVConfig{}},
	}
	custom := &spiderv2beta1.SpiderMultusConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "net", Name: "custom", Annotations: map[string]string{netKey: "n"}},
		Spec:       spiderv2beta1.MultusCNIConfigSpec{CNIType: ptr("custom")},
	}
	netResNoPool := injectgrouptest.Macvlan(3, "eth3", netKey, "n2")
	netResNoPool.Spec.Macvlan.IPPools = nil
	tests := []struct {
		name    string
		podAnn  map[string]string
		nsAnn   map[string]string
		configs []*spiderv2beta1.SpiderMultusConfig
		reason  string
		want    string
	}{
		{name: "empty value", podAnn: map[string]string{rdmaKey: " , "}, reason: ReasonEmptyGroup,
			want: "pod train/worker-0: annotation cni.spidernet.io/rdma-resource-inject is empty; name an inject group or remove the annotation"},
		{name: "no member", podAnn: map[string]string{rdmaKey: "nope"}, configs: injectgrouptest.Seed(), reason: ReasonNoMember,
			want: `pod train/worker-0 asks for inject group "nope" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation`},
		{name: "no member, group from namespace", nsAnn: map[string]string{netKey: "nope"}, configs: injectgrouptest.Seed(), reason: ReasonNoMember,
			want: `pod train/worker-0 asks for inject group "nope" (annotation cni.spidernet.io/network-resource-inject of namespace train) but no SpiderMultusConfig carries cni.spidernet.io/network-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation`},
		{name: "members lack resource and pool", podAnn: map[string]string{rdmaKey: "g"},
			configs: []*spiderv2beta1.SpiderMultusConfig{noRes, noPool, sriovNoRes}, reason: ReasonUnusable,
			want: `pod train/worker-0 asks for inject group "g" (annotation cni.spidernet.io/rdma-resource-inject), which cannot be injected: SpiderMultusConfig spiderpool/gpu1-macvlan has no RDMA resource name (set spec.macvlan.rdmaResourceName); SpiderMultusConfig spiderpool/gpu2-macvlan has no IP pool (set spec.macvlan.ippools.ipv4 or .ipv6); SpiderMultusConfig net/vf has no RDMA resource name (set spec.sriov.resourceName) and no IP pool (set spec.sriov.ippools.ipv4 or .ipv6); fix these SpiderMultusConfigs or remove them from the group`},
		{name: "unsupported cniType", podAnn: map[string]string{netKey: "n"},
			configs: []*spiderv2beta1.SpiderMultusConfig{custom}, reason: ReasonUnusable,
			want: `pod train/worker-0 asks for inject group "n" (annotation cni.spidernet.io/network-resource-inject), which cannot be injected: SpiderMultusConfig net/custom has cniType "custom", which is not injectable (use one of macvlan, ipvlan, sriov, ib-sriov, ipoib); fix these SpiderMultusConfigs or remove them from the group`},
		{name: "network-resource-inject: resource without pool", podAnn: map[string]string{netKey: "n2"},
			configs: []*spiderv2beta1.SpiderMultusConfig{netResNoPool}, reason: ReasonUnusable,
			want: `pod train/worker-0 asks for inject group "n2" (annotation cni.spidernet.io/network-resource-inject), which cannot be injected: SpiderMultusConfig spiderpool/gpu3-macvlan has no IP pool (set spec.macvlan.ippools.ipv4 or .ipv6); fix these SpiderMultusConfigs or remove them from the group`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod(tt.podAnn)
			before := p.DeepCopy()
			_, err := Pod(p, tt.nsAnn, enabled, tt.configs)
			checkRefusal(t, err, tt.reason, tt.want)
			if !reflect.DeepEqual(p, before) {
				t.Errorf("refused pod was changed")
			}
		})
	}
}

func TestPodGenerateNameInMessage(t *testing.T) {
	p := pod(map[string]string{rdmaKey: "nope"})
	p.Name, p.GenerateName = "", "trainer-7d9f-"
	_, err := Pod(p, nil, enabled, nil)
	checkRefusal(t, err, ReasonNoMember, `pod train/trainer-7d9f-* asks for inject group "nope" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation`)
}

func checkRefusal(t *testing.T, err error, reason, msg string) {
	t.Helper()
	r, ok := err.(*Refusal)
	if !ok {
		t.Fatalf("err = %v (%T), want *Refusal", err, err)
	}
	if r.Reason != reason {
		t.Errorf("reason = %q, want %q", r.Reason, reason)
	}
	if r.Message != msg {
		t.Errorf("message =\n%s\nwant\n%s", r.Message, msg)
	}
}

func ptr[T any](v T) *T { return &v }

// TestFormatNetworks matches networks.Format (one network per line) for
// plain names and for names that need escaping.
func TestFormatNetworks(t *testing.T) {
	for _, refs := range [][]networks.Ref{
		nil,
		{{Namespace: "spiderpool", Name: "gpu1-macvlan"}},
		{{Namespace: "spiderpool", Name: "gpu1-macvlan"}, {Namespace: "ns", Name: "gpu2.x_y", Interface: "net2"}},
		{{Namespace: "a", Name: `q"<&`}, {Namespace: "b", Name: "c"}},
	} {
		want := strings.ReplaceAll(networks.Format(refs), "},{", "},\n{")
		if got := FormatNetworks(refs); got != want {
			t.Errorf("FormatNetworks(%v) = %q, want %q", refs, got, want)
		}
	}
}
