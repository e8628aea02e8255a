package drainject

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/railnet/railnet/api/injectgroup"
	"github.com/railnet/railnet/api/networks"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/inject"
)

// ModeAnnotation on a SpiderMultusConfig sets its inject groups' mode;
// ModeDRA opts in, absent (or "device-plugin") keeps device-plugin mode.
const (
	ModeAnnotation   = "railnet.io/inject-mode"
	ModeDRA          = "dra"
	ModeDevicePlugin = "device-plugin"
)

// ClaimName is the pod's claim railnet adds.
const ClaimName = "railnet-rails"

// Refusal reasons (metric labels) of DRA mode.
const (
	ReasonMode       = "dra-mode-mismatch"
	ReasonNoGPU      = "dra-no-gpu"
	ReasonNetworks   = "dra-networks-invalid"
	ReasonNoTemplate = "dra-no-claim-template"
)

// HasMode reports whether smc carries the mode annotation at all; a
// cluster where no SpiderMultusConfig does is all device-plugin mode.
func HasMode(smc *spiderv2beta1.SpiderMultusConfig) bool {
	_, ok := smc.Annotations[ModeAnnotation]
	return ok
}

// GroupIsDRA reports whether the inject group (members: the
// SpiderMultusConfigs listing it under key) is in DRA mode. All members
// must agree; a group mixing modes, or a member with an unknown mode, is
// refused naming the SpiderMultusConfig to fix.
func GroupIsDRA(members []*spiderv2beta1.SpiderMultusConfig, group string) (bool, error) {
	var dra, dp []string
	for _, smc := range members {
		name := smc.Namespace + "/" + smc.Name
		switch mode := smc.Annotations[ModeAnnotation]; mode {
		case ModeDRA:
			dra = append(dra, name)
		case "", ModeDevicePlugin:
			dp = append(dp, name)
		default:
			return false, &inject.Refusal{Reason: ReasonMode, Message: fmt.Sprintf(
				"SpiderMultusConfig %s of inject group %q: annotation %s=%q; use %q or %q (or leave it out)", name, group, ModeAnnotation, mode, ModeDRA, ModeDevicePlugin)}
		}
	}
	if len(dra) > 0 && len(dp) > 0 {
		return false, &inject.Refusal{Reason: ReasonMode, Message: fmt.Sprintf(
			"inject group %q mixes modes: %s in DRA mode, %s not; annotate every member %s=%s, or none", group, strings.Join(dra, ", "), strings.Join(dp, ", "), ModeAnnotation, ModeDRA)}
	}
	return len(dra) > 0, nil
}

// Options say what the pod is given.
type Options struct {
	// GPUResource is the device-plugin GPU resource the pod's containers ask
	// for (nvidia.com/gpu).
	GPUResource corev1.ResourceName
	// Network is the railnet DRA network (its NetworkAttachmentDefinition)
	// the pod's Multus annotation names.
	Network networks.Ref
}

// TemplateName is the claim template of group for k GPUs, kept in each
// namespace that uses the group: railnet-<group>-<k>.
func TemplateName(group string, k int) string { return fmt.Sprintf("railnet-%s-%d", group, k) }

// Plan returns the pod as DRA mode wants it and the template it needs, or
// the pod unchanged (changed false) when it already has railnet's claim.
// k is the sum of the containers' GPU limits: all of them share the one
// claim. A pod without GPUs is refused: it has no rails to follow.
func Plan(pod *corev1.Pod, group string, o Options) (out *corev1.Pod, template string, changed bool, err error) {
	if slices.ContainsFunc(pod.Spec.ResourceClaims, func(c corev1.PodResourceClaim) bool { return c.Name == ClaimName }) {
		return pod, "", false, nil
	}
	k := GPUs(pod, o.GPUResource)
	if k > MaxGPUs {
		return nil, "", false, &inject.Refusal{Reason: ReasonNoGPU, Message: fmt.Sprintf(
			"pod %s/%s: inject group %q is in DRA mode and the pod asks for %d %s; a claim pairs at most %d GPUs (one node's) with their rails: ask for fewer",
			pod.Namespace, podName(pod), group, k, o.GPUResource, MaxGPUs)}
	}
	if k == 0 {
		return nil, "", false, &inject.Refusal{Reason: ReasonNoGPU, Message: fmt.Sprintf(
			"pod %s/%s: inject group %q is in DRA mode, where rails follow GPUs, and no container asks for %s; ask for GPUs, or name a device-plugin mode group", pod.Namespace, podName(pod), group, o.GPUResource)}
	}
	refs, err := networks.Parse(pod.Annotations[networks.Annotation], pod.Namespace)
	if err != nil {
		return nil, "", false, &inject.Refusal{Reason: ReasonNetworks, Message: fmt.Sprintf("pod %s/%s: %v; fix the annotation or remove it", pod.Namespace, podName(pod), err)}
	}
	out = pod.DeepCopy()
	template = TemplateName(group, k)
	out.Spec.ResourceClaims = append(out.Spec.ResourceClaims, corev1.PodResourceClaim{Name: ClaimName, ResourceClaimTemplateName: &template})
	for i := range out.Spec.Containers {
		r := &out.Spec.Containers[i].Resources
		if _, ok := r.Limits[o.GPUResource]; !ok {
			continue
		}
		delete(r.Limits, o.GPUResource)
		delete(r.Requests, o.GPUResource)
		r.Claims = append(r.Claims, corev1.ResourceClaim{Name: ClaimName})
	}
	if !slices.Contains(refs, o.Network) {
		refs = append(refs, o.Network)
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[networks.Annotation] = networks.Format(refs)
	return out, template, true, nil
}

// PodRef names the pod in messages: namespace/name, or
// namespace/generateName* at admission.
func PodRef(p *corev1.Pod) string { return p.Namespace + "/" + podName(p) }

// podName is the pod's name, or its generateName prefix at admission.
func podName(p *corev1.Pod) string {
	if p.Name != "" {
		return p.Name
	}
	return p.GenerateName + "*"
}

// ErrDisabled is what a claim template lookup answers when the webhook
// runs without DRA mode (chart value dra.enabled=false).
var ErrDisabled = errors.New("railnet's webhook runs without DRA mode")

// Disabled is the refusal of a DRA-mode group's pod by a webhook running
// without DRA mode.
func Disabled(who, group string) error {
	return &inject.Refusal{Reason: ReasonMode, Message: fmt.Sprintf(
		"pod %s: inject group %q is in DRA mode (annotation %s=%s on its SpiderMultusConfigs) but railnet runs without DRA mode; install railnet with --set dra.enabled=true, or remove the annotation to use device-plugin mode",
		who, group, ModeAnnotation, ModeDRA)}
}

// GPUs is how many GPUs the pod's containers ask for (the sum of their
// resource limits): the k of its claim.
func GPUs(pod *corev1.Pod, resource corev1.ResourceName) int {
	k := 0
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Limits[resource]; ok {
			k += int(q.Value())
		}
	}
	return k
}

// GPUResource is the device-plugin GPU resource a DRA-mode pod's
// containers ask for; the claim's GPU requests replace it.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// MaxGPUs is the largest k with a claim template (railnet-<group>-1 …
// railnet-<group>-8): the GPUs of one node.
const MaxGPUs = 8

// TemplatesAnnotation on a namespace lists (comma-separated) DRA-mode
// groups whose claim templates railnet keeps there, beside the groups its
// inject annotation names.
const TemplatesAnnotation = "railnet.io/claim-templates"

// NetworkName is the NetworkAttachmentDefinition of group in DRA mode: one
// railnet-dra-cni network creating the pod's claimed rails, in the
// namespace of the group's SpiderMultusConfigs.
func NetworkName(group string) string { return "railnet-dra-" + group }

// Group is an inject group in DRA mode.
type Group struct {
	Name string
	// Namespace is where its SpiderMultusConfigs, and so its network, are.
	Namespace string
	// Members are its SpiderMultusConfigs in rail order.
	Members []*spiderv2beta1.SpiderMultusConfig
}

// Network is the group's network as a pod's Multus annotation names it.
func (g *Group) Network() networks.Ref {
	return networks.Ref{Namespace: g.Namespace, Name: NetworkName(g.Name)}
}

// Resolve finds the DRA-mode group among those req names: nil when none
// is (device-plugin mode, package inject), or a refusal when the groups
// cannot be served as asked: a mixed group, a DRA group named with others,
// members in several namespaces or without an IP pool, a group name that
// cannot name objects. A group without members is left to package inject,
// which refuses it. who names the pod in messages.
func Resolve(req injectgroup.Request, configs []*spiderv2beta1.SpiderMultusConfig, who string) (*Group, error) {
	if !slices.ContainsFunc(configs, HasMode) {
		return nil, nil // no SpiderMultusConfig opted into DRA mode: nothing to decide
	}
	var found *Group
	for _, name := range req.Groups {
		var members []*spiderv2beta1.SpiderMultusConfig
		for _, smc := range configs {
			if injectgroup.InGroup(smc, req.Key, name) {
				members = append(members, smc)
			}
		}
		dra, err := GroupIsDRA(members, name)
		if err != nil {
			return nil, err
		}
		if !dra {
			continue
		}
		if len(req.Groups) > 1 {
			return nil, &inject.Refusal{Reason: ReasonMode, Message: fmt.Sprintf(
				"pod %s asks for inject groups %q; group %q is in DRA mode, where the pod's rails follow its GPUs, and cannot be combined with other groups: name it alone",
				who, req.Value, name)}
		}
		found = &Group{Name: name, Members: members}
	}
	if found == nil {
		return nil, nil
	}
	if bad := validation.IsDNS1123Subdomain(TemplateName(found.Name, MaxGPUs)); len(bad) > 0 {
		return nil, &inject.Refusal{Reason: ReasonMode, Message: fmt.Sprintf(
			"pod %s: inject group %q is in DRA mode, which names the group's network and claim templates after it, and %q cannot name an object (%s); rename the group",
			who, found.Name, found.Name, strings.Join(bad, "; "))}
	}
	var namespaces, poolless []string
	for _, smc := range found.Members {
		if !slices.Contains(namespaces, smc.Namespace) {
			namespaces = append(namespaces, smc.Namespace)
		}
		if smc.Spec.Pools().Empty() {
			poolless = append(poolless, smc.Namespace+"/"+smc.Name)
		}
	}
	if len(namespaces) > 1 {
		slices.Sort(namespaces)
		return nil, &inject.Refusal{Reason: ReasonMode, Message: fmt.Sprintf(
			"pod %s: inject group %q is in DRA mode and its SpiderMultusConfigs are in namespaces %s; its one network (%s) is rendered beside them: keep the group's SpiderMultusConfigs in one namespace",
			who, found.Name, strings.Join(namespaces, ", "), NetworkName(found.Name))}
	}
	if len(poolless) > 0 {
		return nil, &inject.Refusal{Reason: inject.ReasonUnusable, Message: fmt.Sprintf(
			"pod %s asks for inject group %q (DRA mode), whose SpiderMultusConfigs %s have no IP pool; set spec.macvlan.ippools.ipv4 (or .ipv6) on them",
			who, found.Name, strings.Join(poolless, ", "))}
	}
	found.Namespace = namespaces[0]
	injectgroup.SortConfigs(found.Members)
	return found, nil
}

// Summary is the pod's railnet.io/injection value in DRA mode, e.g.
//
//	group rdma-network (pod annotation cni.spidernet.io/rdma-resource-inject): DRA mode, claim railnet-rails from ResourceClaimTemplate railnet-rdma-network-2 (2 GPUs, each with a rail on its PCIe root); network spiderpool/railnet-dra-rdma-network
func Summary(req injectgroup.Request, template string, k int, network networks.Ref) string {
	from := "pod annotation "
	if req.FromNamespace {
		from = "namespace annotation "
	}
	return fmt.Sprintf("group %s (%s%s): DRA mode, claim %s from ResourceClaimTemplate %s (%d GPUs, each with a rail on its PCIe root); network %s/%s",
		req.Value, from, req.Key, ClaimName, template, k, network.Namespace, network.Name)
}

// MissingTemplate is the refusal of a pod whose claim template is not in
// its namespace: railnet keeps a DRA group's templates in the namespaces
// that name the group (inject annotation or TemplatesAnnotation).
func MissingTemplate(who, namespace, group, template string) error {
	return &inject.Refusal{Reason: ReasonNoTemplate, Message: fmt.Sprintf(
		"pod %s: inject group %q is in DRA mode and its claim template, ResourceClaimTemplate %s/%s, does not exist; have railnet keep the group's templates in this namespace: kubectl annotate namespace %s %s=%s",
		who, group, namespace, template, namespace, TemplatesAnnotation, group)}
}
