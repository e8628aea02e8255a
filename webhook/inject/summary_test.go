package inject

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/railnet/railnet/api/injectgroup/injectgrouptest"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestSummary(t *testing.T) {
	seedPod := pod(map[string]string{rdmaKey: "rdma-network"})
	seed, err := Pod(seedPod, nil, enabled, injectgrouptest.Seed())
	if err != nil {
		t.Fatal(err)
	}
	nsPod := pod(nil, corev1.Container{Name: "sidecar"}, corev1.Container{Name: "trainer",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}}})
	fromNS, err := Pod(nsPod, map[string]string{rdmaKey: "rdma-network"}, enabled, injectgrouptest.Seed()[6:])
	if err != nil {
		t.Fatal(err)
	}
	netOnly := injectgrouptest.Macvlan(1, "enp11s0f0np0", netKey, "plain")
	netOnly.Spec.Macvlan.RDMAResourceName = ""
	plain, err := Pod(pod(map[string]string{netKey: "plain"}), nil, enabled, []*spiderv2beta1.SpiderMultusConfig{netOnly})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seedPod.Annotations[AnnotationSummary], Summary(seed); got != want {
		t.Errorf("the injected pod's %s = %q, want %q", AnnotationSummary, got, want)
	}
	for _, tc := range []struct {
		name string
		res  *Result
		want string
	}{
		{"the seed's job", seed, "group rdma-network (pod annotation cni.spidernet.io/rdma-resource-inject): networks " +
			"spiderpool/gpu1-macvlan,spiderpool/gpu2-macvlan,spiderpool/gpu3-macvlan,spiderpool/gpu4-macvlan," +
			"spiderpool/gpu5-macvlan,spiderpool/gpu6-macvlan,spiderpool/gpu7-macvlan,spiderpool/gpu8-macvlan; " +
			"1 each of spidernet.io/gpu1rdma,spidernet.io/gpu2rdma,spidernet.io/gpu3rdma,spidernet.io/gpu4rdma," +
			"spidernet.io/gpu5rdma,spidernet.io/gpu6rdma,spidernet.io/gpu7rdma,spidernet.io/gpu8rdma on container main; NCCL conf file /run/railnet/nccl/nccl.conf"},
		{"group from the namespace, resources on the GPU container", fromNS,
			"group rdma-network (namespace annotation cni.spidernet.io/rdma-resource-inject): networks " +
				"spiderpool/gpu1-macvlan,spiderpool/gpu2-macvlan; 1 each of spidernet.io/gpu1rdma,spidernet.io/gpu2rdma on container trainer; NCCL conf file /run/railnet/nccl/nccl.conf"},
		{"networks without RDMA", plain, "group plain (pod annotation cni.spidernet.io/network-resource-inject): networks spiderpool/gpu1-macvlan; no RDMA resource"},
		{"nothing injected", nil, ""},
		{"NCCL skipped, the container's own NCCL variables kept", &Result{Request: seed.Request, Networks: seed.Networks, Resources: seed.Resources,
			Container: "main", NCCL: &NCCLResult{Skipped: "the pod has its own volume railnet-nccl; rename it", Kept: []string{"NCCL_IB_HCA", "NCCL_IB_GID_INDEX", EnvSocketIfName, EnvConfFile}}},
			"group rdma-network (pod annotation cni.spidernet.io/rdma-resource-inject): networks " +
				"spiderpool/gpu1-macvlan,spiderpool/gpu2-macvlan,spiderpool/gpu3-macvlan,spiderpool/gpu4-macvlan," +
				"spiderpool/gpu5-macvlan,spiderpool/gpu6-macvlan,spiderpool/gpu7-macvlan,spiderpool/gpu8-macvlan; " +
				"1 each of spidernet.io/gpu1rdma,spidernet.io/gpu2rdma,spidernet.io/gpu3rdma,spidernet.io/gpu4rdma," +
				"spidernet.io/gpu5rdma,spidernet.io/gpu6rdma,spidernet.io/gpu7rdma,spidernet.io/gpu8rdma on container main; " +
				"no NCCL conf file: the pod has its own volume railnet-nccl; rename it; kept the container's own NCCL_IB_HCA, NCCL_IB_GID_INDEX, NCCL_SOCKET_IFNAME, NCCL_CONF_FILE " +
				"(the environment overrides railnet's NCCL conf file; remove them to use it)"},
	} {
		if got := Summary(tc.res); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if tc.res != nil && summarySize(tc.res) < len(tc.want) {
			t.Errorf("%s: summarySize %d, shorter than the summary (%d bytes): its builder grows again", tc.name, summarySize(tc.res), len(tc.want))
		}
	}
	// The same injection gives the same summary.
	again, err := Pod(seedPod.DeepCopy(), nil, enabled, injectgrouptest.Seed())
	if err != nil {
		t.Fatal(err)
	}
	if Summary(again) != Summary(seed) {
		t.Errorf("a second run summarises differently:\n%s\n%s", Summary(again), Summary(seed))
	}
}
