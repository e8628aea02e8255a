package rails

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// benchWorld answers Configs as the extender's cache index does: configs by
// key=group, looked up in a map.
type benchWorld struct {
	byGroup map[string][]*spiderv2beta1.SpiderMultusConfig
	byName  map[string]*spiderv2beta1.SpiderMultusConfig
	cfg     injectgroup.Config
}

func (w *benchWorld) MultusConfig(ns, name string) *spiderv2beta1.SpiderMultusConfig {
	return w.byName[ns+"/"+name]
}

func (w *benchWorld) MultusConfigsInGroup(key, group string) []*spiderv2beta1.SpiderMultusConfig {
	return w.byGroup[key+"="+group]
}

func (w *benchWorld) NamespaceAnnotations(string) map[string]string { return nil }

func (w *benchWorld) InjectConfig() (injectgroup.Config, error) { return w.cfg, nil }

// BenchmarkForPod is the per-pod cost of working out the rails (once per
// filter request, not per node): the seed's 8-rail group, the networks
// annotation the webhook writes for it, and a pod without either.
func BenchmarkForPod(b *testing.B) {
	w := &benchWorld{byGroup: map[string][]*spiderv2beta1.SpiderMultusConfig{}, byName: map[string]*spiderv2beta1.SpiderMultusConfig{},
		cfg: injectgroup.Config{Enabled: true, NamespacesExclude: []string{"kube-system", "spiderpool"}}}
	var nets string
	for n := 8; n >= 1; n-- {
		s := smc(fmt.Sprintf("gpu%d-macvlan", n), fmt.Sprintf("enp1%ds0f0np0", n), fmt.Sprintf("spidernet.io/shared_cx5_gpu%d", n),
			fmt.Sprintf("gpu%d-net1%d", n, n), "rdma-network")
		k := spiderv2beta1.AnnotationRDMAResourceInject + "=rdma-network"
		w.byGroup[k] = append(w.byGroup[k], s)
		w.byName[s.Namespace+"/"+s.Name] = s
		if nets != "" {
			nets = "," + nets
		}
		nets = s.Namespace + "/" + s.Name + nets
	}
	for _, bc := range []struct {
		name string
		ann  map[string]string
		want int
	}{
		{"group", map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}, 8},
		{"networks", map[string]string{"k8s.v1.cni.cncf.io/networks": nets}, 8},
		{"none", nil, 0},
	} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "worker-0", Annotations: bc.ann}}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, err := ForPod(p, w)
				if err != nil || len(rs) != bc.want {
					b.Fatalf("ForPod = %d rails, %v; want %d", len(rs), err, bc.want)
				}
			}
		})
	}
}
