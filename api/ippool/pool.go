package ippool

import (
	"fmt"
	"net/netip"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// Usable returns the addresses a pool can hand out: its `ips` minus its
// `excludeIPs` minus its gateway. Errors name the pool and the bad entry.
func Usable(pool *spiderv2beta1.SpiderIPPool) (Set, error) {
	ips, err := Parse(pool.Spec.IPs)
	if err != nil {
		return nil, fmt.Errorf("SpiderIPPool %s: spec.ips: %w", pool.Name, err)
	}
	ex, err := Parse(pool.Spec.ExcludeIPs)
	if err != nil {
		return nil, fmt.Errorf("SpiderIPPool %s: spec.excludeIPs: %w", pool.Name, err)
	}
	if pool.Spec.Gateway != nil && *pool.Spec.Gateway != "" {
		gw, err := netip.ParseAddr(*pool.Spec.Gateway)
		if err != nil {
			return nil, fmt.Errorf("SpiderIPPool %s: spec.gateway %q is not an IP address", pool.Name, *pool.Spec.Gateway)
		}
		ex = normalize(append(ex, Range{gw.Unmap(), gw.Unmap()}))
	}
	return ips.Minus(ex), nil
}

// ServesNode returns nil when the pool may allocate on the node, else an
// error saying which field of which pool keeps the node out.
func ServesNode(pool *spiderv2beta1.SpiderIPPool, nodeName string, nodeLabels map[string]string) error {
	if pool.Spec.Disable != nil && *pool.Spec.Disable {
		return fmt.Errorf("SpiderIPPool %s is disabled (spec.disable: true)", pool.Name)
	}
	if len(pool.Spec.NodeName) > 0 && !slices.Contains(pool.Spec.NodeName, nodeName) {
		return fmt.Errorf("SpiderIPPool %s serves only nodes %v (spec.nodeName), not %s", pool.Name, pool.Spec.NodeName, nodeName)
	}
	if pool.Spec.NodeAffinity != nil {
		sel, err := metav1.LabelSelectorAsSelector(pool.Spec.NodeAffinity)
		if err != nil {
			return fmt.Errorf("SpiderIPPool %s: spec.nodeAffinity: %w", pool.Name, err)
		}
		if !sel.Matches(labels.Set(nodeLabels)) {
			return fmt.Errorf("SpiderIPPool %s: node %s does not match spec.nodeAffinity %s", pool.Name, nodeName, sel)
		}
	}
	return nil
}
