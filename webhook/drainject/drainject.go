package drainject

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/api/networks"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
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

// GroupIsDRA reports whether the inject group (members: the
// SpiderMultusConfigs listing it under key) is in DRA mode. All members
// must agree; a group mixing modes, or a member with an unknown mode, is
// refused naming the SpiderMultusConfig to fix.
func GroupIsDRA(members []spiderv2beta1.SpiderMultusConfig, group string) (bool, error) {
	var dra, dp []string
	for _, smc := range members {
		name := smc.Namespace + "/" + smc.Name
		switch mode := smc.Annotations[ModeAnnotation]; mode {
		case ModeDRA:
			dra = append(dra, name)
		case "", ModeDevicePlugin:
			dp = append(dp, name)
		default:
			return false, fmt.Errorf("SpiderMultusConfig %s of inject group %q: annotation %s=%q; use %q or %q (or leave it out)", name, group, ModeAnnotation, mode, ModeDRA, ModeDevicePlugin)
		}
	}
	if len(dra) > 0 && len(dp) > 0 {
		return false, fmt.Errorf("inject group %q mixes modes: %s in DRA mode, %s not; annotate every member %s=%s, or none", group, strings.Join(dra, ", "), strings.Join(dp, ", "), ModeAnnotation, ModeDRA)
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
	k := 0
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Limits[o.GPUResource]; ok {
			k += int(q.Value())
		}
	}
	if k == 0 {
		return nil, "", false, fmt.Errorf("pod %s/%s: inject group %q is in DRA mode, where rails follow GPUs, and no container asks for %s; ask for GPUs, or name a device-plugin mode group", pod.Namespace, podName(pod), group, o.GPUResource)
	}
	refs, err := networks.Parse(pod.Annotations[networks.Annotation], pod.Namespace)
	if err != nil {
		return nil, "", false, fmt.Errorf("pod %s/%s: %w", pod.Namespace, podName(pod), err)
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

// podName is the pod's name, or its generateName prefix at admission.
func podName(p *corev1.Pod) string {
	if p.Name != "" {
		return p.Name
	}
	return p.GenerateName + "*"
}
