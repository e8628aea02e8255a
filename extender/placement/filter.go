package placement

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	railnetv1alpha1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/rails"
)

// Pod is what placement needs to know about the pod being scheduled.
type Pod struct {
	// Ref is "namespace/name", for messages.
	Ref string
	// Rails are the pod's RDMA networks.
	Rails []rails.Rail
	// Requests holds the pod's request of each rail resource.
	Requests map[corev1.ResourceName]int64
}

// NodeState is one candidate node as the extender's caches see it.
type NodeState struct {
	// Name is the node name the scheduler sent.
	Name string
	// Node is nil when the cache has no such node.
	Node *corev1.Node
	// RDMANode is nil when the node agent has not reported the node.
	RDMANode *railnetv1alpha1.RDMANode
	// SlotsBound counts, per resource, the requests of non-terminated pods
	// bound to the node.
	SlotsBound map[corev1.ResourceName]int64
	// SlotsInFlight counts requests of pods the extender passed for this
	// node that it has not yet seen bound.
	SlotsInFlight map[corev1.ResourceName]int64
}

// Options tune Filter.
type Options struct {
	// Now is the time heartbeats are measured against.
	Now time.Time
	// HeartbeatTTL is how old an RDMANode heartbeat may be.
	HeartbeatTTL time.Duration
	// GIDsPerInterface is how many GID table entries one IPv4 pod interface
	// adds on a NIC whose agent reports no GID layout (see GIDNeed).
	GIDsPerInterface int32
}

// DefaultOptions returns the options the extender runs with by default.
func DefaultOptions(now time.Time) Options {
	return Options{Now: now, HeartbeatTTL: 2 * time.Minute, GIDsPerInterface: defaultGIDsPerInterface}
}

// Result is Filter's answer, in the shape of the extender protocol.
type Result struct {
	// Passed keeps the scheduler's order of node names.
	Passed []string
	// Failed are nodes that may fit later without preemption's help being
	// needed: RDMA slots in use.
	Failed map[string]string
	// Unresolvable are nodes preemption cannot help.
	Unresolvable map[string]string
}

// Filter decides, for every node, whether it can serve the pod's rails. A pod
// without rails passes every node.
func Filter(pod Pod, nodes []NodeState, pools map[string]*PoolRoom, opts Options) Result {
	res := Result{Passed: make([]string, 0, len(nodes)), Failed: map[string]string{}, Unresolvable: map[string]string{}}
	resources := sortedResources(pod.Requests)
	for i := range nodes {
		n := &nodes[i]
		if len(pod.Rails) == 0 {
			res.Passed = append(res.Passed, n.Name)
			continue
		}
		hard, soft := check(pod, resources, n, pools, opts)
		switch {
		case len(hard) > 0:
			res.Unresolvable[n.Name] = strings.Join(append(hard, soft...), "; ")
		case len(soft) > 0:
			res.Failed[n.Name] = strings.Join(soft, "; ")
		default:
			res.Passed = append(res.Passed, n.Name)
		}
	}
	return res
}

// FailAll marks every node unresolvable with one reason: the pod's networks
// cannot be worked out, so no node can serve them.
func FailAll(names []string, reason string) Result {
	res := Result{Passed: []string{}, Failed: map[string]string{}, Unresolvable: make(map[string]string, len(names))}
	for _, n := range names {
		res.Unresolvable[n] = reason
	}
	return res
}

// check returns the reasons preemption cannot fix (hard) and those it or
// time can (soft).
func check(pod Pod, resources []corev1.ResourceName, n *NodeState, pools map[string]*PoolRoom, opts Options) (hard, soft []string) {
	if n.Node == nil {
		return []string{fmt.Sprintf("node %s is unknown to the railnet extender (deleted, or its cache has not seen it yet)", n.Name)}, nil
	}
	rn := n.RDMANode
	if rn == nil {
		return []string{fmt.Sprintf("node %s has no RDMANode: the railnet node agent has not reported its RDMA NICs; run the agent on the node", n.Name)}, nil
	}
	st := &rn.Status
	switch hb := st.HeartbeatTime; {
	case hb == nil:
		return []string{fmt.Sprintf("RDMANode %s has no heartbeat: the railnet node agent has not confirmed its inventory; check the agent on the node", n.Name)}, nil
	case opts.HeartbeatTTL > 0 && opts.Now.Sub(hb.Time) > opts.HeartbeatTTL:
		return []string{fmt.Sprintf("RDMANode %s is stale: last heartbeat %s ago (limit %s); check the railnet node agent on the node",
			n.Name, opts.Now.Sub(hb.Time).Round(time.Second), opts.HeartbeatTTL)}, nil
	case opts.HeartbeatTTL > 0 && hb.Time.Sub(opts.Now) > opts.HeartbeatTTL:
		// A heartbeat from the future would keep a dead node fresh until
		// that time comes; a skew within the TTL is tolerated.
		return []string{fmt.Sprintf("RDMANode %s heartbeat is %s in the future (limit %s): the node's clock is ahead; fix its time (NTP) or the agent's",
			n.Name, hb.Time.Sub(opts.Now).Round(time.Second), opts.HeartbeatTTL)}, nil
	}
	if st.NetnsMode != railnetv1alpha1.NetnsModeShared {
		mode := st.NetnsMode
		if mode == "" {
			mode = "not reported"
		}
		hard = append(hard, fmt.Sprintf("node %s RDMA netns mode is %s; macvlan RDMA needs shared: run `rdma system set netns shared` on the node", n.Name, mode))
	}

	gidNeed := map[string]int32{}
	for _, r := range pod.Rails {
		for _, m := range r.Masters {
			nic := findNIC(st.NICs, m)
			switch {
			case nic == nil:
				hard = append(hard, fmt.Sprintf("rail %s: NIC %s not found on node %s (RDMANode lists %s); fix the network's master or the node's cabling",
					r.Network, m, n.Name, nicNames(st.NICs)))
				continue
			case !nic.Up():
				hard = append(hard, fmt.Sprintf("rail %s: NIC %s on node %s is down (%s); bring the link up or drain the node",
					r.Network, m, n.Name, nicState(nic)))
				continue
			case nic.Rail != nil && n.Node.Labels[railnetv1alpha1.RailLabel(*nic.Rail)] == railnetv1alpha1.RailDown:
				hard = append(hard, fmt.Sprintf("rail %s: NIC %s on node %s is down (node label %s=%s); bring the link up or drain the node",
					r.Network, m, n.Name, railnetv1alpha1.RailLabel(*nic.Rail), railnetv1alpha1.RailDown))
				continue
			}
			gidNeed[m] += GIDNeed(nic, r, opts.GIDsPerInterface)
			if nic.GIDTableSize > 0 && nic.GIDTableUsed+gidNeed[m] > nic.GIDTableSize {
				hard = append(hard, fmt.Sprintf("rail %s: GID table of %s port %d (NIC %s) on node %s is full (%d of %d entries used, %d needed); remove pods using that NIC or pick another node",
					r.Network, nic.RDMADevice, nic.Port, m, n.Name, nic.GIDTableUsed, nic.GIDTableSize, gidNeed[m]))
			}
		}
		for _, fam := range [][]string{r.PoolsV4, r.PoolsV6} {
			if reason := poolReason(r, fam, n.Node, pools); reason != "" {
				hard = append(hard, reason)
			}
		}
	}

	for _, res := range resources {
		want := pod.Requests[res]
		if want <= 0 {
			continue
		}
		alloc, ok := n.Node.Status.Allocatable[res]
		total := alloc.Value()
		if !ok || total == 0 {
			hard = append(hard, fmt.Sprintf("node %s advertises no %s: the RDMA device plugin does not serve it there; check the node agent's device plugin config", n.Name, res))
			continue
		}
		bound, inflight := n.SlotsBound[res], n.SlotsInFlight[res]
		if bound+inflight+want > total {
			soft = append(soft, fmt.Sprintf("node %s: RDMA resource %s has %d of %d slots in use (%d by bound pods, %d by pods being scheduled), pod needs %d; wait for pods to finish or raise rdmaHcaMax",
				n.Name, res, bound+inflight, total, bound, inflight, want))
		}
	}
	return hard, soft
}

// poolReason is "" when one of the rail's pools of one family can give the
// node an address, else why none can.
func poolReason(r rails.Rail, names []string, node *corev1.Node, pools map[string]*PoolRoom) string {
	if len(names) == 0 {
		return ""
	}
	var why []string
	for _, name := range names {
		room := pools[name]
		if room == nil {
			why = append(why, fmt.Sprintf("SpiderIPPool %s does not exist; create it or fix the network's ippools", name))
			continue
		}
		reason := room.usableOn(node)
		if reason == "" {
			return ""
		}
		why = append(why, reason)
	}
	return fmt.Sprintf("rail %s: no address for node %s: %s", r.Network, node.Name, strings.Join(why, "; "))
}

func findNIC(nics []railnetv1alpha1.NIC, netdev string) *railnetv1alpha1.NIC {
	for i := range nics {
		if nics[i].Netdev == netdev {
			return &nics[i]
		}
	}
	return nil
}

func nicNames(nics []railnetv1alpha1.NIC) string {
	if len(nics) == 0 {
		return "no NICs"
	}
	names := make([]string, len(nics))
	for i, n := range nics {
		names[i] = n.Netdev
	}
	return strings.Join(names, ", ")
}

func nicState(n *railnetv1alpha1.NIC) string {
	parts := []string{"link " + orUnknown(n.LinkState)}
	if n.RDMADevice != "" {
		parts = append(parts, fmt.Sprintf("RDMA %s port %d %s", n.RDMADevice, n.Port, orUnknown(n.PortState)))
	}
	return strings.Join(parts, ", ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func sortedResources(m map[corev1.ResourceName]int64) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
