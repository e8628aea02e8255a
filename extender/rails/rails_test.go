package rails

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// world answers Configs from plain values.
type world struct {
	smcs      []*spiderv2beta1.SpiderMultusConfig
	nsAnn     map[string]map[string]string
	cfg       injectgroup.Config
	cfgErr    error
	nsLookups int
}

func configs(smcs ...*spiderv2beta1.SpiderMultusConfig) *world {
	return &world{smcs: smcs, cfg: injectgroup.Config{Enabled: true}}
}

func (w *world) MultusConfig(ns, name string) *spiderv2beta1.SpiderMultusConfig {
	for _, s := range w.smcs {
		if s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}

func (w *world) MultusConfigsInGroup(key, group string) []*spiderv2beta1.SpiderMultusConfig {
	var out []*spiderv2beta1.SpiderMultusConfig
	for _, s := range w.smcs {
		if injectgroup.InGroup(s, key, group) {
			out = append(out, s)
		}
	}
	return out
}

func (w *world) NamespaceAnnotations(name string) map[string]string {
	w.nsLookups++
	return w.nsAnn[name]
}

func (w *world) InjectConfig() (injectgroup.Config, error) { return w.cfg, w.cfgErr }

func smc(name, master, resource, pool, groups string) *spiderv2beta1.SpiderMultusConfig {
	s := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: name}}
	s.Spec.Macvlan = &spiderv2beta1.MacvlanConfig{
		Master: []string{master}, RDMAResourceName: resource,
		IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{pool}},
	}
	if groups != "" {
		s.Annotations = map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: groups}
	}
	return s
}

func pod(ann map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "worker-0", Annotations: ann}}
}

func TestForPod(t *testing.T) {
	gpu1 := smc("gpu1-macvlan", "eth1", "spidernet.io/shared_cx5_gpu1", "gpu1-net11", "gpu-macvlan")
	gpu2 := smc("gpu2-macvlan", "eth2", "spidernet.io/shared_cx5_gpu2", "gpu2-net12", "gpu-macvlan,all")
	gpu10 := smc("gpu10-macvlan", "eth10", "spidernet.io/shared_cx5_gpu10", "gpu10-net20", "gpu-macvlan")
	// The seed guide's spelling: resource and pools directly under spec.
	seed := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: "seed"}}
	seed.Spec.Macvlan = &spiderv2beta1.MacvlanConfig{Master: []string{"eth3"}}
	seed.Spec.RDMAResourceName = "spidernet.io/shared_cx5_gpu3"
	seed.Spec.IPPools = &spiderv2beta1.PoolsConfig{IPv4: []string{"gpu3-net13"}}
	cfgs := configs(gpu1, gpu2, gpu10, seed)

	rail := func(name, master, res, pool string) Rail {
		return Rail{Network: "spiderpool/" + name, Masters: []string{master}, Resource: corev1.ResourceName(res), PoolsV4: []string{pool}}
	}
	r1 := rail("gpu1-macvlan", "eth1", "spidernet.io/shared_cx5_gpu1", "gpu1-net11")
	r2 := rail("gpu2-macvlan", "eth2", "spidernet.io/shared_cx5_gpu2", "gpu2-net12")
	r10 := rail("gpu10-macvlan", "eth10", "spidernet.io/shared_cx5_gpu10", "gpu10-net20")
	r3 := rail("seed", "eth3", "spidernet.io/shared_cx5_gpu3", "gpu3-net13")
	r1net1 := r1
	r1net1.Interface = "net1"

	tests := []struct {
		name    string
		ann     map[string]string
		want    []Rail
		wantErr string
	}{
		{name: "no annotations", ann: nil, want: nil},
		{name: "networks JSON as the seed writes it",
			ann:  map[string]string{"k8s.v1.cni.cncf.io/networks": `[{"name":"gpu1-macvlan","namespace":"spiderpool"},{"name":"gpu2-macvlan","namespace":"spiderpool"}]`},
			want: []Rail{r1, r2}},
		{name: "networks short form with interface",
			ann:  map[string]string{"k8s.v1.cni.cncf.io/networks": "spiderpool/gpu1-macvlan@net1"},
			want: []Rail{r1net1}},
		{name: "seed spelling of resource and pools",
			ann:  map[string]string{"k8s.v1.cni.cncf.io/networks": "spiderpool/seed"},
			want: []Rail{r3}},
		{name: "network without SpiderMultusConfig is not a rail",
			ann:  map[string]string{"k8s.v1.cni.cncf.io/networks": "spiderpool/plain-nad,spiderpool/gpu2-macvlan"},
			want: []Rail{r2}},
		{name: "networks annotation wins over inject group",
			ann: map[string]string{
				"k8s.v1.cni.cncf.io/networks":              "spiderpool/gpu2-macvlan",
				spiderv2beta1.AnnotationRDMAResourceInject: "gpu-macvlan"},
			want: []Rail{r2}},
		{name: "inject group, natural order of masters",
			ann:  map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "gpu-macvlan"},
			want: []Rail{r1, r2, r10}},
		{name: "several groups, a config in two groups counted once",
			ann:  map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "all, gpu-macvlan"},
			want: []Rail{r1, r2, r10}},
		{name: "network-resource-inject matches its own key only",
			ann:     map[string]string{spiderv2beta1.AnnotationNetworkResourceInject: "gpu-macvlan"},
			wantErr: `pod train/worker-0 asks for inject group "gpu-macvlan" (annotation cni.spidernet.io/network-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/network-resource-inject: gpu-macvlan; annotate the group's SpiderMultusConfigs or fix the pod's annotation`},
		{name: "empty group",
			ann:     map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: " , "},
			wantErr: "pod train/worker-0: annotation cni.spidernet.io/rdma-resource-inject is empty; name an inject group or remove the annotation"},
		{name: "malformed networks annotation",
			ann:     map[string]string{"k8s.v1.cni.cncf.io/networks": `[{"name":`},
			wantErr: "pod train/worker-0: annotation k8s.v1.cni.cncf.io/networks is not a JSON list of networks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ForPod(pod(tt.ann), cfgs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("rails\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestForPodFollowsTheWebhook: the drift fixes — the extender asks of the
// nodes exactly what the webhook injects (api/injectgroup), no more.
func TestForPodFollowsTheWebhook(t *testing.T) {
	rdma := spiderv2beta1.AnnotationRDMAResourceInject
	gpu2 := smc("gpu2-macvlan", "eth2", "spidernet.io/shared_cx5_gpu2", "gpu2-net12", "g")
	gpu2b := smc("gpu2b-macvlan", "eth2", "spidernet.io/shared_cx5_gpu2", "gpu2-net12", "g")
	gpu2other := smc("gpu2-macvlan", "eth2", "spidernet.io/shared_cx5_gpu2", "gpu2-net12", "g")
	gpu2other.Namespace = "a-ns"
	gpu10 := smc("gpu10-macvlan", "eth10", "spidernet.io/shared_cx5_gpu10", "gpu10-net20", "g")
	noRes := smc("nores-macvlan", "eth3", "", "gpu3-net13", "g")
	vf := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: "vf",
		Annotations: map[string]string{rdma: "g"}}}
	typ := spiderv2beta1.CNITypeSRIOV
	vf.Spec.CNIType = &typ
	vf.Spec.SRIOV = &spiderv2beta1.SRIOVConfig{ResourceName: "spidernet.io/vf", IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{"vf-net"}}}

	names := func(rs []Rail) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Network)
		}
		return out
	}
	tests := []struct {
		name    string
		w       *world
		ann     map[string]string
		want    []string
		wantErr string
		// nsLookups is how often the namespace's annotations may be read.
		nsLookups int
	}{
		{name: "namespace annotation names the group",
			w:    &world{smcs: []*spiderv2beta1.SpiderMultusConfig{gpu10, gpu2}, cfg: injectgroup.Config{Enabled: true}, nsAnn: map[string]map[string]string{"train": {rdma: "g"}}},
			want: []string{"spiderpool/gpu2-macvlan", "spiderpool/gpu10-macvlan"}, nsLookups: 1},
		{name: "the pod's own group wins; the namespace is not read",
			w:   &world{smcs: []*spiderv2beta1.SpiderMultusConfig{gpu10, gpu2}, cfg: injectgroup.Config{Enabled: true}, nsAnn: map[string]map[string]string{"train": {rdma: "nope"}}},
			ann: map[string]string{rdma: "g"}, want: []string{"spiderpool/gpu2-macvlan", "spiderpool/gpu10-macvlan"}},
		{name: "an unusable member refuses the pod, as the webhook does",
			w: configs(gpu2, noRes), ann: map[string]string{rdma: "g"},
			wantErr: `pod train/worker-0 asks for inject group "g" (annotation cni.spidernet.io/rdma-resource-inject), which cannot be injected: SpiderMultusConfig spiderpool/nores-macvlan has no RDMA resource name (set spec.macvlan.rdmaResourceName); fix these SpiderMultusConfigs or remove them from the group`},
		{name: "same master: namespace/name order, whatever the input order",
			w: configs(gpu2b, gpu2, gpu2other), ann: map[string]string{rdma: "g"},
			want: []string{"a-ns/gpu2-macvlan", "spiderpool/gpu2-macvlan", "spiderpool/gpu2b-macvlan"}},
		{name: "a config without master comes first, as the webhook puts it",
			w: configs(gpu2, vf), ann: map[string]string{rdma: "g"}, want: []string{"spiderpool/vf", "spiderpool/gpu2-macvlan"}},
		{name: "excluded namespace: an unknown group asks nothing",
			w:   &world{smcs: []*spiderv2beta1.SpiderMultusConfig{gpu2}, cfg: injectgroup.Config{Enabled: true, NamespacesExclude: []string{"train"}}},
			ann: map[string]string{rdma: "nope"}},
		{name: "namespace not included: nothing",
			w:   &world{smcs: []*spiderv2beta1.SpiderMultusConfig{gpu2}, cfg: injectgroup.Config{Enabled: true, NamespacesInclude: []string{"other"}}},
			ann: map[string]string{rdma: "g"}},
		{name: "injection off: nothing, and the namespace is not read",
			w: &world{smcs: []*spiderv2beta1.SpiderMultusConfig{gpu2}, nsAnn: map[string]map[string]string{"train": {rdma: "g"}}}},
		{name: "unreadable configuration: a pod with a group fits no node, with the reason",
			w:       &world{smcs: []*spiderv2beta1.SpiderMultusConfig{gpu2}, cfgErr: errors.New("ConfigMap railnet/railnet-config: ConfigMap key conf.yaml: yaml: bad")},
			ann:     map[string]string{rdma: "g"},
			wantErr: "pod train/worker-0 names an inject group, but the webhook's configuration cannot be read, so whether it is injected is unknown: ConfigMap railnet/railnet-config: ConfigMap key conf.yaml: yaml: bad; fix the ConfigMap"},
		{name: "unreadable configuration: a pod without a group is not concerned",
			w: &world{cfgErr: errors.New("bad")}, nsLookups: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ForPod(pod(tt.ann), tt.w)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error\n%v\nwant\n%s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got), tt.want) {
				t.Errorf("rails %v, want %v", names(got), tt.want)
			}
			if tt.w.nsLookups != tt.nsLookups {
				t.Errorf("namespace read %d times, want %d", tt.w.nsLookups, tt.nsLookups)
			}
		})
	}
}
