package placement

import (
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
)

// FilterKept is Filter for a caller that keeps its nodes across requests
// (the extender's node table): kept(i) is where nodes[i]'s verdict from an
// earlier call was kept (nil: keep none for this node). A kept verdict is
// reused when nothing it was decided from changed — the node's facts and
// slot counts (the same objects: the stores replace them on any change),
// the pod's shape, the heartbeat's standing at opts.Now and the options —
// and the pod's pools refuse no node; otherwise the node is checked anew
// and its verdict kept. The Result is Filter's. With opts.Details nothing
// is reused.
func FilterKept(pod Pod, nodes []NodeState, pools map[string]*PoolRoom, opts Options, kept func(i int) *NodeVerdict) Result {
	return filter(pod, nodes, pools, opts, kept)
}

// ScoreKept is Score for a caller that keeps its nodes across requests, as
// FilterKept: kept(i) holds what of nodes[i]'s score does not depend on the
// peers (packing, GPU affinity, the node's block and spine), reused while
// the node's facts, slot counts and the pod's shape stay the same. The
// scores are Score's.
func ScoreKept(pod Pod, nodes []NodeState, peers []*corev1.Node, topo Topology, kept func(i int) *NodeScore) []HostScore {
	return score(pod, nodes, peers, topo, kept)
}

// NodeVerdict is one node's Filter verdict with what it was decided from;
// the zero value holds nothing.
type NodeVerdict struct {
	from keptFrom
	ttl  time.Duration
	// heartbeat is the facts' (zero when it has no RDMANode), kept here
	// so that judging it anew does not read the facts; beat is its
	// standing when the verdict was reached.
	heartbeat time.Time
	beat      beat
	class     Class
	// reason is "" when the node passed; unresolvable as in Result.
	reason       string
	unresolvable bool
}

// NodeScore is what of one node's score does not depend on the peers,
// with what it was worked out from; the zero value holds nothing.
type NodeScore struct {
	from         keptFrom
	block, spine string
	base         int64
}

// keptFrom is what a kept verdict or score was worked out from. It holds
// the objects themselves, so none is freed and its address reused while
// kept.
type keptFrom struct {
	key             string // the pod's shape, interned
	facts           *NodeFacts
	bound, inFlight Amounts
}

func (k *keptFrom) set(key string, n *NodeState) {
	*k = keptFrom{key: key, facts: n.Facts, bound: n.SlotsBound, inFlight: n.SlotsInFlight}
}

// same reports whether n is what k was worked out from, for the pod shape
// key: the same facts and slot counts (the same objects), the same shape.
func (k *keptFrom) same(key string, n *NodeState) bool {
	return k.key != "" && k.key == key && k.facts == n.Facts && sameAmounts(k.bound, n.SlotsBound) && sameAmounts(k.inFlight, n.SlotsInFlight)
}

// sameAmounts reports whether a and b are the same slice.
func sameAmounts(a, b Amounts) bool {
	return len(a) == len(b) && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// beat is a heartbeat's standing at a moment, as check judges it.
type beat uint8

const (
	beatNone beat = iota
	beatFresh
	beatStale
	beatFuture
)

// heartbeat returns what check judges of f's heartbeat: zero when f has
// none or check decides before it looks (no facts, no RDMANode).
func heartbeat(f *NodeFacts) time.Time {
	if f == nil || f.RDMANode == nil {
		return time.Time{}
	}
	return f.Heartbeat
}

// beat judges a heartbeat (heartbeat's) as check does.
func (c *checker) beat(hb time.Time) beat {
	switch ttl := c.opts.HeartbeatTTL; {
	case hb.IsZero():
		return beatNone
	case ttl > 0 && c.opts.Now.Sub(hb) > ttl:
		return beatStale
	case ttl > 0 && hb.Sub(c.opts.Now) > ttl:
		return beatFuture
	}
	return beatFresh
}

// keepable reports whether verdicts of this check may be kept and reused:
// the pod's pools hold for every node (so they add nothing to a verdict)
// and no details are asked for.
func (c *checker) keepable() bool { return c.staticPools && !c.opts.Details }

// holds reports whether v is the verdict check would reach on n now.
func (v *NodeVerdict) holds(c *checker, n *NodeState) bool {
	return v.from.same(c.key, n) && v.ttl == c.opts.HeartbeatTTL && v.beat == c.beat(v.heartbeat)
}

// keep records the verdict check just reached on n.
func (v *NodeVerdict) keep(c *checker, n *NodeState) {
	v.from.set(c.key, n)
	v.ttl, v.heartbeat, v.class = c.opts.HeartbeatTTL, heartbeat(n.Facts), c.class
	v.beat = c.beat(v.heartbeat)
	switch {
	case len(c.hard) > 0:
		v.reason, v.unresolvable = c.join(append(c.hard, c.soft...)), true
	case len(c.soft) > 0:
		v.reason, v.unresolvable = c.join(c.soft), false
	default:
		v.reason, v.unresolvable = "", false
	}
}

// holds reports whether k is what s would work out for n (facts not nil).
func (k *NodeScore) holds(s *NodeScorer, n *NodeState) bool { return k.from.same(s.key, n) }

// keep works out and records what of n's score does not depend on the
// peers.
func (k *NodeScore) keep(s *NodeScorer, n *NodeState) {
	v := s.static(n.Facts)
	k.from.set(s.key, n)
	k.block, k.spine, k.base = v.block, v.spine, s.own(v, n.SlotsBound, n.SlotsInFlight)
}
