package rails

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/api/injectgroup"
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

// Configs looks up what the rules read: SpiderMultusConfigs, the
// namespaces' inject annotations and the webhook's configuration. The
// extender answers from its informer caches.
type Configs interface {
	// MultusConfig returns the SpiderMultusConfig namespace/name, or nil.
	MultusConfig(namespace, name string) *spiderv2beta1.SpiderMultusConfig
	// MultusConfigsInGroup returns the SpiderMultusConfigs whose annotation
	// key (one of the two inject annotations) lists group.
	MultusConfigsInGroup(key, group string) []*spiderv2beta1.SpiderMultusConfig
	// NamespaceAnnotations returns the inject annotations of namespace
	// name; nil when it has none (read only).
	NamespaceAnnotations(name string) map[string]string
	// InjectConfig is the webhook's podResourceInject configuration as the
	// extender last read it, or why it cannot be read.
	InjectConfig() (injectgroup.Config, error)
}

// ForPod returns the pod's rails. The networks annotation wins over an
// inject group (the webhook writes it from the group); entries that name no
// SpiderMultusConfig are networks railnet does not manage and are skipped.
// A pod without one has the rails the webhook injects for its inject group
// (api/injectgroup's rules: the pod's or its namespace's group, its usable
// members in rail order), and none when it names no group or the webhook
// skips its namespace (injection off, namespace excluded or not included).
// The error says, in words a user can act on, why the pod's networks cannot
// be worked out — for a group, in the webhook's words; the pod then fits
// no node.
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
	nsAnnotations := func() map[string]string { return cfgs.NamespaceAnnotations(pod.Namespace) }
	cfg, err := cfgs.InjectConfig()
	if err != nil {
		if _, asks := injectgroup.Lookup(pod.Annotations, nsAnnotations()); !asks {
			return nil, nil
		}
		return nil, fmt.Errorf("pod %s/%s names an inject group, but the webhook's configuration cannot be read, so whether it is injected is unknown: %w; fix the ConfigMap",
			pod.Namespace, pod.Name, err)
	}
	req, ok := injectgroup.Ask(pod.Namespace, pod.Annotations, nsAnnotations, cfg)
	if !ok {
		return nil, nil
	}
	members, err := injectgroup.Members(injectgroup.Pod{Namespace: pod.Namespace, Name: pod.Name, GenerateName: pod.GenerateName}, req,
		func(group string) []*spiderv2beta1.SpiderMultusConfig {
			return cfgs.MultusConfigsInGroup(req.Key, group)
		})
	if err != nil {
		return nil, err
	}
	out := make([]Rail, 0, len(members))
	for _, smc := range members {
		if err := needsPools(pod, smc); err != nil {
			return nil, err
		}
		out = append(out, FromConfig(smc))
	}
	return out, nil
}

// needsPools refuses a network that names no SpiderIPPool: the IPAM gives
// an interface addresses only from the pools its config names (there is no
// fallback to spec.default pools; the webhook refuses such configs, this
// catches ones made before it or around it).
func needsPools(pod *corev1.Pod, smc *spiderv2beta1.SpiderMultusConfig) error {
	if !smc.Spec.Pools().Empty() {
		return nil
	}
	return fmt.Errorf("pod %s/%s: SpiderMultusConfig %s/%s names no SpiderIPPool, so its interface cannot get an address (railnet does not fall back to spec.default pools); set spec.%s.ippools.ipv4 or .ipv6 in it",
		pod.Namespace, pod.Name, smc.Namespace, smc.Name, spiderv2beta1.SubField(smc.Spec.Type()))
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
