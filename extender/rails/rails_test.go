package rails

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

type configs []*spiderv2beta1.SpiderMultusConfig

func (c configs) MultusConfig(ns, name string) *spiderv2beta1.SpiderMultusConfig {
	for _, s := range c {
		if s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}

func (c configs) MultusConfigsInGroup(key, group string) []*spiderv2beta1.SpiderMultusConfig {
	var out []*spiderv2beta1.SpiderMultusConfig
	for _, s := range c {
		for _, g := range Groups(s.Annotations[key]) {
			if g == group {
				out = append(out, s)
			}
		}
	}
	return out
}

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
	cfgs := configs{gpu1, gpu2, gpu10, seed}

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
			wantErr: `pod train/worker-0 asks for inject group "gpu-macvlan" (annotation cni.spidernet.io/network-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/network-resource-inject: gpu-macvlan; create one or fix the pod's annotation`},
		{name: "empty group",
			ann:     map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: " , "},
			wantErr: "pod train/worker-0: annotation cni.spidernet.io/rdma-resource-inject is empty; name an inject group or remove it"},
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
