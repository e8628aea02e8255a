package placement

import (
	"sync/atomic"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
)

// A node's verdict and score change only now and then, while both callers
// of placement ask about every node for every pod: the scheduler plugin
// one node at a time (NodeChecker, NodeScorer), the extender a whole list
// at a time (FilterKept, ScoreKept). Each keeps, per node, a VerdictMemo
// and a ScoreMemo, which hold the last verdict and score part with what
// they were worked out from: the node's facts (the same object: the
// stores replace it on any change), the pod's shape and the node's Use of
// slots. A memo is reused only while all of these are the same.

// Use identifies the slots in use a verdict or score was worked out from,
// as the caller knows them: a count of changes to them (UseGen), or the
// slot count slices themselves (UseOf). The zero Use is no slots in use.
type Use struct {
	// gen is UseGen's, or UseOf's slices' lengths.
	gen             int64
	bound, inFlight *Amount
}

// UseGen is the use of generation gen: the caller's count of changes to
// the node's slots in use, which must change whenever they do.
func UseGen(gen int64) Use { return Use{gen: gen} }

// UseOf is the use bound and inFlight count, by the slices' identity: the
// caller replaces a slice on any change rather than change it. The Use
// holds the slices, so neither is freed and its address reused while a
// memo holds it. The two lengths share one int64, 32 bits each: a node
// has a handful of RDMA resources, far below 2³² (past it two uses could
// compare equal).
func UseOf(bound, inFlight Amounts) Use {
	return Use{gen: int64(len(bound))<<32 | int64(uint32(len(inFlight))), bound: unsafe.SliceData(bound), inFlight: unsafe.SliceData(inFlight)}
}

// VerdictMemo remembers one node's last Filter verdict, refusals
// included; the zero value holds nothing. Safe for concurrent use.
type VerdictMemo struct {
	p atomic.Pointer[verdict]
}

// verdict is a node's verdict with what it was decided from.
type verdict struct {
	facts *NodeFacts
	key   string // the pod's shape, interned
	use   Use
	ttl   time.Duration
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

// holds reports whether v is the verdict check would reach on a node with
// facts f and use now.
func (v *verdict) holds(c *checker, f *NodeFacts, use Use) bool {
	return v.facts == f && v.key == c.key && v.use == use && v.ttl == c.opts.HeartbeatTTL && v.beat == c.beat(v.heartbeat)
}

// remembered returns m's verdict when it holds for a node with facts f
// and use; nil when it does not or verdicts of c may not be kept.
func (c *checker) remembered(m *VerdictMemo, f *NodeFacts, use Use) *verdict {
	if !c.keepable() {
		return nil
	}
	if v := m.p.Load(); v != nil && v.holds(c, f, use) {
		return v
	}
	return nil
}

// remember notes in m the verdict check just reached (reason and
// unresolvable as it returns them, class its) on a node with facts f and
// use, when it may be kept.
func (c *checker) remember(m *VerdictMemo, f *NodeFacts, use Use, reason string, unresolvable bool, class Class) {
	if !c.keepable() {
		return
	}
	hb := heartbeat(f)
	m.p.Store(&verdict{facts: f, key: c.key, use: use, ttl: c.opts.HeartbeatTTL, heartbeat: hb, beat: c.beat(hb),
		class: class, reason: reason, unresolvable: unresolvable})
}

// keepable reports whether verdicts of this check may be kept and reused:
// the pod's pools hold for every node (so they add nothing to a verdict)
// and no details are asked for.
func (c *checker) keepable() bool { return c.staticPools && !c.opts.Details }

// Remembers reports whether the checker keeps verdicts in memos at all:
// not when the pod's pools' room depends on the node, nor when details are
// asked for (then Decide is Check).
func (nc *NodeChecker) Remembers() bool { return nc.proto.keepable() }

// Remembered returns Check's verdict on a node with facts f and use from
// m alone; ok false when m does not hold it.
func (nc *NodeChecker) Remembered(m *VerdictMemo, f *NodeFacts, use Use) (reason string, unresolvable, ok bool) {
	if v := nc.proto.remembered(m, f, use); v != nil {
		return v.reason, v.unresolvable, true
	}
	return "", false, false
}

// Decide is Check, taking the verdict from m when it holds there for use
// (n's slots in use) and remembering it there otherwise; m nil: Check.
func (nc *NodeChecker) Decide(m *VerdictMemo, n *NodeState, use Use) (reason string, unresolvable bool) {
	if m == nil {
		return nc.Check(n)
	}
	if reason, unresolvable, ok := nc.Remembered(m, n.Facts, use); ok {
		return reason, unresolvable
	}
	if nc.proto.passes(n) {
		nc.proto.remember(m, n.Facts, use, "", false, "")
		return "", false
	}
	c := nc.free.Get().(*checker)
	defer nc.free.Put(c)
	reason, unresolvable = c.checkNode(n)
	c.remember(m, n.Facts, use, reason, unresolvable, c.class)
	return reason, unresolvable
}

// FilterKept is Filter for a caller that keeps its nodes across requests
// (the extender's node table): kept(i) is nodes[i]'s memo (nil: keep
// none for this node), used for the node's facts and UseOf its slots.
// The Result is Filter's; its Passed is appended to passed[:0] (an earlier
// Result's, which the caller no longer reads). With opts.Details nothing
// is reused.
func FilterKept(pod Pod, nodes []NodeState, pools map[string]*PoolRoom, opts Options, kept func(i int) *VerdictMemo, passed []string) Result {
	return filter(pod, nodes, pools, opts, kept, passed)
}

// ScoreMemo remembers what of one node's score depends neither on the
// pod's job nor on the moment (packing, GPU affinity, the node's block
// and spine); the zero value holds nothing. Safe for concurrent use.
type ScoreMemo struct {
	p atomic.Pointer[scorePart]
}

type scorePart struct {
	facts *NodeFacts
	key   string
	use   Use
	// block and spine are the node's labels, interned; own as in
	// NodeScorer.own.
	block, spine string
	own          int64
}

// ScoreRemembered returns Score of a node with facts f and slots in use
// use from m; ok is false when m does not hold its parts for the
// scorer's pod shape, and the caller scores with ScoreAndRemember.
func (s *NodeScorer) ScoreRemembered(m *ScoreMemo, f *NodeFacts, use Use) (score int64, ok bool) {
	if len(s.pod.Rails) == 0 || f == nil {
		return 0, true
	}
	p := m.p.Load()
	if p == nil || p.facts != f || p.key != s.key || p.use != use {
		return 0, false
	}
	return s.total(p.block, p.spine, p.own), true
}

// ScoreAndRemember returns Score(f, bound, inFlight) and remembers its
// parts in m for f, the scorer's pod shape and use, the Use of bound and
// inFlight.
func (s *NodeScorer) ScoreAndRemember(m *ScoreMemo, f *NodeFacts, use Use, bound, inFlight Amounts) int64 {
	if len(s.pod.Rails) == 0 || f == nil {
		return 0
	}
	v := s.static(f)
	p := &scorePart{facts: f, key: s.key, use: use, block: v.block, spine: v.spine, own: s.own(v, bound, inFlight)}
	m.p.Store(p)
	return s.total(p.block, p.spine, p.own)
}

// ScoreKept is Score for a caller that keeps its nodes across requests, as
// FilterKept: kept(i) is nodes[i]'s memo, used for the node's facts and
// UseOf its slots. The scores are Score's, written into out when it has
// room for them (earlier scores the caller no longer reads).
func ScoreKept(pod Pod, nodes []NodeState, peers []*corev1.Node, topo Topology, kept func(i int) *ScoreMemo, out []HostScore) []HostScore {
	return score(pod, nodes, peers, topo, kept, out)
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
