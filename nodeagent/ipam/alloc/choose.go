package alloc

import (
	"fmt"
	"iter"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/api/ippool"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// poolChoice is what one of a network's pools can do for an interface,
// decided from plain values by choosePool.
type poolChoice struct {
	// Skip says why the pool gives the interface no address; the other
	// fields are then unset.
	Skip string
	// Reuse is the interface's own allocation in the pool (a CNI retry, a
	// recreated sandbox): it keeps that address. MoveTo, when set, is the
	// container its record must be moved to.
	Reuse  *railnetv1.IPAllocation
	MoveTo string
	// Usable are the pool's addresses a new allocation may take.
	Usable ippool.Set
}

// choosePool decides what pool — nil when it does not exist — can do for
// the interface of req on node, for the family ipv6 says, given the
// interface's existing allocations mine.
func choosePool(name string, pool *spiderv2beta1.SpiderIPPool, ipv6 bool, node *corev1.Node, req Request,
	mine []railnetv1.IPAllocation) poolChoice {
	if pool == nil {
		return poolChoice{Skip: fmt.Sprintf("SpiderIPPool %s does not exist", name)}
	}
	if err := familyMatches(pool, ipv6); err != nil {
		return poolChoice{Skip: err.Error()}
	}
	for i := range mine {
		if mine[i].Spec.Pool != name {
			continue
		}
		c := poolChoice{Reuse: &mine[i]}
		if req.ContainerID != "" && mine[i].Spec.ContainerID != req.ContainerID {
			c.MoveTo = req.ContainerID
		}
		return c
	}
	if err := ippool.ServesNode(pool, node.Name, node.Labels); err != nil {
		return poolChoice{Skip: err.Error()}
	}
	usable, err := ippool.Usable(pool)
	if err != nil {
		return poolChoice{Skip: err.Error()}
	}
	return poolChoice{Usable: usable}
}

// familyStep is one pool's part in a family's plan: what it can do, and the
// pool itself (nil for a pool that does not exist). Err, when set, is why
// the pool could not be read; nothing else is set then.
type familyStep struct {
	poolChoice
	Pool *spiderv2beta1.SpiderIPPool
	Err  error
}

// planFamily decides, from plain values, what each of one family's pools
// (names, in the network's order; pools holds what was read of each, nil
// for a missing one, and failed why one could not be read) can do for the
// interface of req on node, given its allocations mine. The plan ends at
// the first pool that reuses the interface's address or could not be read
// (it might hold the interface's address: no pool after it may be tried):
// allocateFamily walks it in order, taking the reused address or a free one
// of the first usable pool that still has one, and fails at a pool it could
// not read only if no pool before it served.
func planFamily(names []string, pools map[string]*spiderv2beta1.SpiderIPPool, failed map[string]error, ipv6 bool,
	node *corev1.Node, req Request, mine []railnetv1.IPAllocation) []familyStep {
	steps := make([]familyStep, 0, len(names))
	for _, name := range names {
		if err := failed[name]; err != nil {
			return append(steps, familyStep{Err: err})
		}
		st := familyStep{poolChoice: choosePool(name, pools[name], ipv6, node, req, mine), Pool: pools[name]}
		steps = append(steps, st)
		if st.Reuse != nil {
			break
		}
	}
	return steps
}

// free yields the usable addresses not in used, in the order to try them:
// from a start derived from the interface (candidates).
func free(usable ippool.Set, used map[netip.Addr]bool, req Request) iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		for ip := range candidates(usable, req.PodUID+"/"+req.IfName) {
			if !used[ip] && !yield(ip) {
				return
			}
		}
	}
}

// fullReason says that a pool had no free address.
func fullReason(name string, used map[netip.Addr]bool, usable ippool.Set) string {
	return fmt.Sprintf("SpiderIPPool %s has no free address: %d of %d in use", name, countIn(used, usable), usable.Count())
}
