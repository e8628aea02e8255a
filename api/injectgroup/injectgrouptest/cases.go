package injectgrouptest

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

const (
	rdmaKey = spiderv2beta1.AnnotationRDMAResourceInject
	netKey  = spiderv2beta1.AnnotationNetworkResourceInject
)

// PodNamespace and PodName name every case's pod.
const (
	PodNamespace = "train"
	PodName      = "worker-0"
)

// Case is one pod, its namespace, the webhook's configuration and the
// cluster's SpiderMultusConfigs, with what the rules make of them.
type Case struct {
	Name string
	// PodAnnotations and NamespaceAnnotations are the pod's and its
	// namespace's (PodNamespace) annotations.
	PodAnnotations, NamespaceAnnotations map[string]string
	Config                               injectgroup.Config
	Configs                              []*spiderv2beta1.SpiderMultusConfig

	// Skip: the pod is not injected (no group, or Config skips its
	// namespace).
	Skip bool
	// FromNamespace: the namespace's annotation named the group.
	FromNamespace bool
	// Want are the members, namespace/name in rail order, when the pod is
	// injected.
	Want []string
	// Reason and Message: the refusal, when the pod is refused.
	Reason, Message string
}

// Macvlan is a seed-style rail config: gpuN-macvlan in namespace spiderpool
// on master, with resource spidernet.io/gpuNrdma and pool gpuN-net1N, in
// group(s) under annotation key.
func Macvlan(n int, master, key, groups string) *spiderv2beta1.SpiderMultusConfig {
	typ := spiderv2beta1.CNITypeMacvlan
	return &spiderv2beta1.SpiderMultusConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: fmt.Sprintf("gpu%d-macvlan", n),
			Annotations: map[string]string{key: groups}},
		Spec: spiderv2beta1.MultusCNIConfigSpec{CNIType: &typ, Macvlan: &spiderv2beta1.MacvlanConfig{
			Master:           []string{master},
			RDMAResourceName: fmt.Sprintf("spidernet.io/gpu%drdma", n),
			IPPools:          &spiderv2beta1.PoolsConfig{IPv4: []string{fmt.Sprintf("gpu%d-net1%d", n, n)}},
		}},
	}
}

// Seed is the seed guide's 8 rails in group rdma-network, listed in reverse
// so that no result depends on the input order.
func Seed() []*spiderv2beta1.SpiderMultusConfig {
	var out []*spiderv2beta1.SpiderMultusConfig
	for n := 8; n >= 1; n-- {
		out = append(out, Macvlan(n, fmt.Sprintf("enp1%ds0f0np0", n), rdmaKey, "rdma-network"))
	}
	return out
}

func seedNames() []string {
	var out []string
	for n := 1; n <= 8; n++ {
		out = append(out, fmt.Sprintf("spiderpool/gpu%d-macvlan", n))
	}
	return out
}

func in(ns string, smc *spiderv2beta1.SpiderMultusConfig) *spiderv2beta1.SpiderMultusConfig {
	smc.Namespace = ns
	return smc
}

func ann(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Cases is the table.
func Cases() []Case {
	on := injectgroup.Config{Enabled: true}
	noRes := Macvlan(1, "eth1", rdmaKey, "g")
	noRes.Spec.Macvlan.RDMAResourceName = ""
	noPool := Macvlan(2, "eth2", rdmaKey, "g")
	noPool.Spec.Macvlan.IPPools = nil
	sriovNoRes := &spiderv2beta1.SpiderMultusConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "net", Name: "vf", Annotations: ann(rdmaKey, "g")},
		Spec: spiderv2beta1.MultusCNIConfigSpec{CNIType: ptr(spiderv2beta1.CNITypeSRIOV),
			SRIOV: &spiderv2beta1.SRIOVConfig{}},
	}
	sriov := &spiderv2beta1.SpiderMultusConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "net", Name: "vf", Annotations: ann(netKey, "mixed")},
		Spec: spiderv2beta1.MultusCNIConfigSpec{CNIType: ptr(spiderv2beta1.CNITypeSRIOV),
			SRIOV: &spiderv2beta1.SRIOVConfig{ResourceName: "spidernet.io/vf",
				IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{"vf-net"}}}},
	}
	custom := &spiderv2beta1.SpiderMultusConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "net", Name: "custom", Annotations: ann(netKey, "n")},
		Spec:       spiderv2beta1.MultusCNIConfigSpec{CNIType: ptr("custom")},
	}
	netResNoPool := Macvlan(3, "eth3", netKey, "n2")
	netResNoPool.Spec.Macvlan.IPPools = nil
	netNoRes := Macvlan(1, "eth1", netKey, "underlay")
	netNoRes.Spec.Macvlan.RDMAResourceName = ""
	multi := Macvlan(3, "eth10", rdmaKey, "a, b")
	return []Case{
		{Name: "seed: the pod template's group, 8 rails in natural order", Config: on,
			PodAnnotations: ann(rdmaKey, "rdma-network"), Configs: Seed(), Want: seedNames()},
		{Name: "no annotation", Config: on, Configs: Seed(), Skip: true},
		{Name: "injection disabled", PodAnnotations: ann(rdmaKey, "rdma-network"), Configs: Seed(), Skip: true},
		{Name: "excluded namespace", PodAnnotations: ann(rdmaKey, "rdma-network"), Configs: Seed(), Skip: true,
			Config: injectgroup.Config{Enabled: true, NamespacesExclude: []string{PodNamespace}}},
		{Name: "excluded namespace: an unknown group is not refused", PodAnnotations: ann(rdmaKey, "nope"),
			Configs: Seed(), Skip: true, Config: injectgroup.Config{Enabled: true, NamespacesExclude: []string{PodNamespace}}},
		{Name: "disabled: an unknown namespace group is not refused", NamespaceAnnotations: ann(rdmaKey, "nope"),
			Configs: Seed(), Skip: true},
		{Name: "not in the include list", PodAnnotations: ann(rdmaKey, "rdma-network"), Configs: Seed(), Skip: true,
			Config: injectgroup.Config{Enabled: true, NamespacesInclude: []string{"other"}}},
		{Name: "in the include list", PodAnnotations: ann(rdmaKey, "rdma-network"), Configs: Seed(), Want: seedNames(),
			Config: injectgroup.Config{Enabled: true, NamespacesInclude: []string{"other", PodNamespace}}},
		{Name: "exclude wins over include", PodAnnotations: ann(rdmaKey, "rdma-network"), Configs: Seed(), Skip: true,
			Config: injectgroup.Config{Enabled: true, NamespacesInclude: []string{PodNamespace}, NamespacesExclude: []string{PodNamespace}}},
		{Name: "natural order of masters, then namespace/name", Config: on, PodAnnotations: ann(rdmaKey, "g"),
			Configs: []*spiderv2beta1.SpiderMultusConfig{Macvlan(1, "eth10", rdmaKey, "g"), Macvlan(4, "eth2", rdmaKey, "g"),
				in("a-ns", Macvlan(5, "eth2", rdmaKey, "g")), Macvlan(2, "eth2", rdmaKey, "g")},
			Want: []string{"a-ns/gpu5-macvlan", "spiderpool/gpu2-macvlan", "spiderpool/gpu4-macvlan", "spiderpool/gpu1-macvlan"}},
		{Name: "a config without master (SR-IOV) comes first", Config: on, PodAnnotations: ann(netKey, "mixed"),
			Configs: []*spiderv2beta1.SpiderMultusConfig{Macvlan(1, "eth1", netKey, "mixed"), sriov},
			Want:    []string{"net/vf", "spiderpool/gpu1-macvlan"}},
		{Name: "a config in two groups counts once", Config: on, PodAnnotations: ann(rdmaKey, " a , b "),
			Configs: []*spiderv2beta1.SpiderMultusConfig{multi, Macvlan(1, "eth2", rdmaKey, "b")},
			Want:    []string{"spiderpool/gpu1-macvlan", "spiderpool/gpu3-macvlan"}},
		{Name: "pod annotation wins over namespace annotation", Config: on,
			PodAnnotations: ann(netKey, "pod-group"), NamespaceAnnotations: ann(rdmaKey, "ns-group"),
			Configs: []*spiderv2beta1.SpiderMultusConfig{Macvlan(1, "eth2", netKey, "pod-group"), Macvlan(2, "eth3", rdmaKey, "ns-group")},
			Want:    []string{"spiderpool/gpu1-macvlan"}},
		{Name: "namespace annotation when the pod has none", Config: on, NamespaceAnnotations: ann(rdmaKey, "ns-group"),
			Configs:       []*spiderv2beta1.SpiderMultusConfig{Macvlan(1, "eth2", netKey, "ns-group"), Macvlan(2, "eth3", rdmaKey, "ns-group")},
			FromNamespace: true, Want: []string{"spiderpool/gpu2-macvlan"}},
		{Name: "rdma key before network key", Config: on, PodAnnotations: ann(rdmaKey, "r", netKey, "n"),
			Configs: []*spiderv2beta1.SpiderMultusConfig{Macvlan(1, "eth2", netKey, "n"), Macvlan(2, "eth3", rdmaKey, "r")},
			Want:    []string{"spiderpool/gpu2-macvlan"}},
		{Name: "network-resource-inject: a config without RDMA resource is a member", Config: on,
			PodAnnotations: ann(netKey, "underlay"), Configs: []*spiderv2beta1.SpiderMultusConfig{netNoRes},
			Want: []string{"spiderpool/gpu1-macvlan"}},
		{Name: "empty value", Config: on, PodAnnotations: ann(rdmaKey, " , "), Configs: Seed(),
			Reason:  injectgroup.ReasonEmptyGroup,
			Message: "pod train/worker-0: annotation cni.spidernet.io/rdma-resource-inject is empty; name an inject group or remove the annotation"},
		{Name: "no member", Config: on, PodAnnotations: ann(rdmaKey, "nope"), Configs: Seed(), Reason: injectgroup.ReasonNoMember,
			Message: `pod train/worker-0 asks for inject group "nope" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation`},
		{Name: "no member, group from the namespace", Config: on, NamespaceAnnotations: ann(netKey, "nope"), Configs: Seed(),
			FromNamespace: true, Reason: injectgroup.ReasonNoMember,
			Message: `pod train/worker-0 asks for inject group "nope" (annotation cni.spidernet.io/network-resource-inject of namespace train) but no SpiderMultusConfig carries cni.spidernet.io/network-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation`},
		{Name: "network-resource-inject matches its own key only", Config: on, PodAnnotations: ann(netKey, "rdma-network"),
			Configs: Seed(), Reason: injectgroup.ReasonNoMember,
			Message: `pod train/worker-0 asks for inject group "rdma-network" (annotation cni.spidernet.io/network-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/network-resource-inject: rdma-network; annotate the group's SpiderMultusConfigs or fix the pod's annotation`},
		{Name: "one of two groups has no member", Config: on, PodAnnotations: ann(rdmaKey, "rdma-network,nope"),
			Configs: Seed(), Reason: injectgroup.ReasonNoMember,
			Message: `pod train/worker-0 asks for inject group "nope" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope; annotate the group's SpiderMultusConfigs or fix the pod's annotation`},
		{Name: "members lack resource and pool", Config: on, PodAnnotations: ann(rdmaKey, "g"),
			Configs: []*spiderv2beta1.SpiderMultusConfig{noRes, noPool, sriovNoRes}, Reason: injectgroup.ReasonUnusable,
			Message: `pod train/worker-0 asks for inject group "g" (annotation cni.spidernet.io/rdma-resource-inject), which cannot be injected: SpiderMultusConfig spiderpool/gpu1-macvlan has no RDMA resource name (set spec.macvlan.rdmaResourceName); SpiderMultusConfig spiderpool/gpu2-macvlan has no IP pool (set spec.macvlan.ippools.ipv4 or .ipv6); SpiderMultusConfig net/vf has no RDMA resource name (set spec.sriov.resourceName) and no IP pool (set spec.sriov.ippools.ipv4 or .ipv6); fix these SpiderMultusConfigs or remove them from the group`},
		{Name: "one unusable member refuses the group", Config: on, PodAnnotations: ann(rdmaKey, "g"),
			Configs: []*spiderv2beta1.SpiderMultusConfig{Macvlan(3, "eth3", rdmaKey, "g"), noPool}, Reason: injectgroup.ReasonUnusable,
			Message: `pod train/worker-0 asks for inject group "g" (annotation cni.spidernet.io/rdma-resource-inject), which cannot be injected: SpiderMultusConfig spiderpool/gpu2-macvlan has no IP pool (set spec.macvlan.ippools.ipv4 or .ipv6); fix these SpiderMultusConfigs or remove them from the group`},
		{Name: "unsupported cniType", Config: on, PodAnnotations: ann(netKey, "n"),
			Configs: []*spiderv2beta1.SpiderMultusConfig{custom}, Reason: injectgroup.ReasonUnusable,
			Message: `pod train/worker-0 asks for inject group "n" (annotation cni.spidernet.io/network-resource-inject), which cannot be injected: SpiderMultusConfig net/custom has cniType "custom", which is not injectable (use one of macvlan, ipvlan, sriov, ib-sriov, ipoib); fix these SpiderMultusConfigs or remove them from the group`},
		{Name: "network-resource-inject: a resource without pool", Config: on, PodAnnotations: ann(netKey, "n2"),
			Configs: []*spiderv2beta1.SpiderMultusConfig{netResNoPool}, Reason: injectgroup.ReasonUnusable,
			Message: `pod train/worker-0 asks for inject group "n2" (annotation cni.spidernet.io/network-resource-inject), which cannot be injected: SpiderMultusConfig spiderpool/gpu3-macvlan has no IP pool (set spec.macvlan.ippools.ipv4 or .ipv6); fix these SpiderMultusConfigs or remove them from the group`},
	}
}

func ptr[T any](v T) *T { return &v }
