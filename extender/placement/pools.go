package placement

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/railnet/railnet/api/ippool"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// PoolRoom is how many addresses a SpiderIPPool can still hand out.
type PoolRoom struct {
	Pool *spiderv2beta1.SpiderIPPool
	// Total counts ips minus excludeIPs minus the gateway.
	Total int64
	// Allocated counts IPAllocations of the pool that fall in that set.
	Allocated int64
	// InFlight counts addresses promised to pods the extender passed that
	// have no IPAllocation in the pool yet.
	InFlight int64
	// Err says why the pool's spec could not be read; the pool then has no
	// room.
	Err error

	selector labels.Selector
}

// Free is Total minus Allocated minus InFlight, never below zero.
func (r *PoolRoom) Free() int64 {
	return max(0, r.Total-r.Allocated-r.InFlight)
}

// NewPoolRoom computes a pool's room from its spec and the addresses its
// IPAllocations hold: count returns how many of them usable (the pool's
// usable set) accepts. Addresses outside that set do not count.
func NewPoolRoom(pool *spiderv2beta1.SpiderIPPool, count func(usable func(netip.Addr) bool) int64, inFlight int64) *PoolRoom {
	r := &PoolRoom{Pool: pool, InFlight: inFlight}
	usable, err := ippool.Usable(pool)
	if err != nil {
		r.Err = err
		return r
	}
	r.Total = int64(min(usable.Count(), uint64(maxCount)))
	r.Allocated = count(usable.Contains)
	if na := pool.Spec.NodeAffinity; na != nil {
		sel, err := metav1.LabelSelectorAsSelector(na)
		if err != nil {
			r.Err = fmt.Errorf("spec.nodeAffinity: %w", err)
			return r
		}
		r.selector = sel
	}
	return r
}

// nodeDependent reports whether the pool serves only some nodes.
func (r *PoolRoom) nodeDependent() bool {
	return len(r.Pool.Spec.NodeName) > 0 || r.selector != nil
}

// invalid reports whether the pool cannot be used at all: its spec is
// broken or it is disabled.
func (r *PoolRoom) invalid() bool {
	return r.Err != nil || (r.Pool.Spec.Disable != nil && *r.Pool.Spec.Disable)
}

// staticReason says why the pool can give no node an address, or "".
func (r *PoolRoom) staticReason() string {
	p := r.Pool
	switch {
	case r.Err != nil:
		return fmt.Sprintf("%v; fix the pool", r.Err)
	case p.Spec.Disable != nil && *p.Spec.Disable:
		return fmt.Sprintf("SpiderIPPool %s is disabled (spec.disable); enable it or name another pool", p.Name)
	case r.Free() == 0:
		return fmt.Sprintf("SpiderIPPool %s has no free address (%d usable, %d allocated, %d promised to pods being scheduled); add addresses to spec.ips or free some",
			p.Name, r.Total, r.Allocated, r.InFlight)
	}
	return ""
}

// serves reports whether the pool's spec.nodeName and spec.nodeAffinity
// admit node.
func (r *PoolRoom) serves(node *corev1.Node) bool {
	p := r.Pool
	if len(p.Spec.NodeName) > 0 && !slices.Contains(p.Spec.NodeName, node.Name) {
		return false
	}
	return r.selector == nil || r.selector.Matches(labels.Set(node.Labels))
}

// servesReason says which nodes the pool serves, for a node it does not.
func (r *PoolRoom) servesReason() string {
	p := r.Pool
	if len(p.Spec.NodeName) > 0 && r.selector != nil {
		return fmt.Sprintf("SpiderIPPool %s serves only nodes %s (spec.nodeName) matching %s (spec.nodeAffinity), not this one; add the node or name another pool",
			p.Name, strings.Join(p.Spec.NodeName, ","), r.selector)
	}
	if len(p.Spec.NodeName) > 0 {
		return fmt.Sprintf("SpiderIPPool %s serves only nodes %s (spec.nodeName), not this one; add the node or name another pool",
			p.Name, strings.Join(p.Spec.NodeName, ","))
	}
	return fmt.Sprintf("SpiderIPPool %s serves only nodes matching %s (spec.nodeAffinity), not this one; label the node or name another pool",
		p.Name, r.selector)
}

// maxCount caps a pool's size (an IPv6 /64 is, for room, unlimited).
const maxCount = int64(1) << 62
