package alloc

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/api/ippool"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// poolChoice is what one of a network's pools can do for an interface,
// decided from plain values by choosePool; allocateFamily acts on it.
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

// fullReason says that a pool had no free address.
func fullReason(name string, used map[netip.Addr]bool, usable ippool.Set) string {
	return fmt.Sprintf("SpiderIPPool %s has no free address: %d of %d in use", name, countIn(used, usable), usable.Count())
}
