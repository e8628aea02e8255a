package rails

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/api/networks"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// Rail is what one of a pod's networks needs from a node.
type Rail struct {
	// Network is the SpiderMultusConfig, "namespace/name".
	Network string
	// Interface is the pod interface the networks annotation asks for, if any.
	Interface string
	// Masters are the node NICs the network's macvlan/ipvlan sits on.
	Masters []string
	// Resource is the RDMA device-plugin resource of the network; empty when
	// it has none.
	Resource corev1.ResourceName
	// PoolsV4 and PoolsV6 are the SpiderIPPools the pod's address comes from,
	// in the order IPAM tries them.
	PoolsV4, PoolsV6 []string
}

// Configs looks SpiderMultusConfigs up; the extender answers it from its
// informer cache.
type Configs interface {
	// MultusConfig returns the SpiderMultusConfig namespace/name, or nil.
	MultusConfig(namespace, name string) *spiderv2beta1.SpiderMultusConfig
	// MultusConfigsInGroup returns the SpiderMultusConfigs whose annotation
	// key (one of the two inject annotations) lists group.
	MultusConfigsInGroup(key, group string) []*spiderv2beta1.SpiderMultusConfig
}

// InjectKeys are the pod annotations that name an inject group, in the order
// they are consulted.
var InjectKeys = []string{
	spiderv2beta1.AnnotationRDMAResourceInject,
	spiderv2beta1.AnnotationNetworkResourceInject,
}

// ForPod returns the pod's rails. A pod with neither a networks annotation
// nor an inject group has none. The networks annotation wins over an inject
// group (the webhook writes it from the group); entries that name no
// SpiderMultusConfig are networks railnet does not manage and are skipped.
// The error says, in words a user can act on, why the pod's networks cannot
// be worked out; the pod then fits no node.
func ForPod(pod *corev1.Pod, cfgs Configs) ([]Rail, error) {
	if v, ok := pod.Annotations[networks.Annotation]; ok && strings.TrimSpace(v) != "" {
		refs, err := networks.Parse(v, pod.Namespace)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w; fix the annotation", pod.Namespace, pod.Name, err)
		}
		var out []Rail
		for _, r := range refs {
			smc := cfgs.MultusConfig(r.Namespace, r.Name)
			if smc == nil {
				continue
			}
			if err := needsPools(pod, smc); err != nil {
				return nil, err
			}
			rail := FromConfig(smc)
			rail.Interface = r.Interface
			out = append(out, rail)
		}
		return out, nil
	}
	for _, key := range InjectKeys {
		v, ok := pod.Annotations[key]
		if !ok {
			continue
		}
		groups := splitGroups(v)
		if len(groups) == 0 {
			return nil, fmt.Errorf("pod %s/%s: annotation %s is empty; name an inject group or remove it",
				pod.Namespace, pod.Name, key)
		}
		var out []Rail
		seen := map[string]bool{}
		for _, g := range groups {
			smcs := cfgs.MultusConfigsInGroup(key, g)
			if len(smcs) == 0 {
				return nil, fmt.Errorf("pod %s/%s asks for inject group %q (annotation %s) but no SpiderMultusConfig carries %s: %s; create one or fix the pod's annotation",
					pod.Namespace, pod.Name, g, key, key, g)
			}
			for _, smc := range smcs {
				if err := needsPools(pod, smc); err != nil {
					return nil, err
				}
				rail := FromConfig(smc)
				if seen[rail.Network] {
					continue
				}
				seen[rail.Network] = true
				out = append(out, rail)
			}
		}
		slices.SortFunc(out, func(a, b Rail) int { return networks.CompareNatural(firstMaster(a), firstMaster(b)) })
		return out, nil
	}
	return nil, nil
}

// needsPools refuses a network that names no SpiderIPPool: the IPAM gives
// an interface addresses only from the pools its config names (there is no
// fallback to spec.default pools; the webhook refuses such configs, this
// catches ones made before it or around it).
func needsPools(pod *corev1.Pod, smc *spiderv2beta1.SpiderMultusConfig) error {
	if !smc.Spec.Pools().Empty() {
		return nil
	}
	sub := strings.ReplaceAll(smc.Spec.Type(), "-", "")
	return fmt.Errorf("pod %s/%s: SpiderMultusConfig %s/%s names no SpiderIPPool, so its interface cannot get an address (railnet does not fall back to spec.default pools); set spec.%s.ippools.ipv4 or .ipv6 in it",
		pod.Namespace, pod.Name, smc.Namespace, smc.Name, sub)
}

// FromConfig reads one SpiderMultusConfig's rail through the shared accessors.
func FromConfig(smc *spiderv2beta1.SpiderMultusConfig) Rail {
	pools := smc.Spec.Pools()
	return Rail{
		Network:  smc.Namespace + "/" + smc.Name,
		Masters:  smc.Spec.Masters(),
		Resource: corev1.ResourceName(smc.Spec.ResourceName()),
		PoolsV4:  pools.IPv4,
		PoolsV6:  pools.IPv6,
	}
}

// Groups returns the inject groups an annotation value names
// (comma-separated, blanks ignored).
func Groups(value string) []string { return splitGroups(value) }

func splitGroups(v string) []string {
	var out []string
	for _, g := range strings.Split(v, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

func firstMaster(r Rail) string {
	if len(r.Masters) > 0 {
		return r.Masters[0]
	}
	return r.Network
}
