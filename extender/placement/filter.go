package placement

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
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
	// Facts is nil when the cache has no such node.
	Facts *NodeFacts
	// SlotsBound counts, per resource, the requests of non-terminated pods
	// bound to the node.
	SlotsBound Amounts
	// SlotsInFlight counts requests of pods the extender passed for this
	// node that it has not yet seen bound.
	SlotsInFlight Amounts
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
	// Details asks Filter to say, per refused node, what it found there
	// (Result.Details), for the log.
	Details bool
}

// DefaultOptions returns the options the extender runs with by default.
func DefaultOptions(now time.Time) Options {
	return Options{Now: now, HeartbeatTTL: 2 * time.Minute, GIDsPerInterface: defaultGIDsPerInterface}
}

// Class is the kind of a node's first refusal reason; the set is fixed, so
// it can label metrics.
type Class string

// The refusal classes.
const (
	ClassUnknownNode Class = "unknown-node"
	ClassNoRDMANode  Class = "no-rdmanode"
	ClassHeartbeat   Class = "heartbeat"
	ClassNetns       Class = "netns"
	ClassNICMissing  Class = "nic-missing"
	ClassNICDown     Class = "nic-down"
	ClassGIDFull     Class = "gid-full"
	ClassPool        Class = "pool"
	ClassNoResource  Class = "no-resource"
	ClassSlots       Class = "slots"
	// ClassPodNetworks: the pod's networks cannot be worked out (FailAll).
	ClassPodNetworks Class = "pod-networks"
)

// Retryable reports whether refusals of the class may clear without
// preemption (FailedNodes rather than FailedAndUnresolvableNodes).
func (c Class) Retryable() bool { return c == ClassSlots }

// Result is Filter's answer, in the shape of the extender protocol. Reasons
// never name the node: kube-scheduler counts nodes per distinct reason, so
// a thousand nodes refused for one cause read as one line with a count.
type Result struct {
	// Passed keeps the scheduler's order of node names.
	Passed []string
	// Failed are nodes that may fit later without preemption's help being
	// needed: RDMA slots in use.
	Failed map[string]string
	// Unresolvable are nodes preemption cannot help.
	Unresolvable map[string]string
	// Classes counts the refused nodes by the class of their first reason.
	Classes map[Class]int
	// Details holds, with Options.Details, what Filter found on each
	// refused node (NIC and port states, numbers), for the log.
	Details map[string]string
}

// Filter decides, for every node, whether it can serve the pod's rails. A pod
// without rails passes every node.
func Filter(pod Pod, nodes []NodeState, pools map[string]*PoolRoom, opts Options) Result {
	return filter(pod, nodes, pools, opts, nil, nil)
}

// filter is Filter, reusing kept(i)'s verdict on nodes[i] when it holds
// and remembering the new one there (kept nil, or returning nil: decide
// anew, keep nothing), its Passed appended to passed[:0] when that has
// room for every node.
func filter(pod Pod, nodes []NodeState, pools map[string]*PoolRoom, opts Options, kept func(i int) *VerdictMemo, passed []string) Result {
	if passed == nil || cap(passed) < len(nodes) {
		passed = make([]string, 0, len(nodes))
	}
	res := Result{Passed: passed[:0], Failed: map[string]string{}, Unresolvable: map[string]string{},
		Classes: map[Class]int{}}
	if len(pod.Rails) == 0 {
		for i := range nodes {
			res.Passed = append(res.Passed, nodes[i].Name)
		}
		return res
	}
	if opts.Details {
		res.Details = map[string]string{}
	}
	c := newChecker(pod, pools, opts)
	keep := kept != nil && c.keepable()
	for i := range nodes {
		n := &nodes[i]
		var m *VerdictMemo
		if keep {
			m = kept(i)
		}
		reason, unresolvable := c.decide(n, m)
		switch {
		case unresolvable:
			res.Unresolvable[n.Name] = reason
		case reason != "":
			res.Failed[n.Name] = reason
		default:
			res.Passed = append(res.Passed, n.Name)
			continue
		}
		res.Classes[c.class]++
		if opts.Details {
			res.Details[n.Name] = strings.Join(c.details, "; ")
		}
	}
	return res
}

// NodeChecker decides about one node at a time for one pod, for callers
// that are handed nodes one by one on many goroutines (a scheduler
// plugin's Filter); Check is safe for concurrent use. Its verdicts are
// Filter's.
type NodeChecker struct {
	proto *checker
	free  sync.Pool
}

// NewNodeChecker works out once what every node's check for the pod needs.
func NewNodeChecker(pod Pod, pools map[string]*PoolRoom, opts Options) *NodeChecker {
	nc := &NodeChecker{proto: newChecker(pod, pools, opts)}
	nc.free.New = func() any {
		c := *nc.proto // families, resources and key are read-only from here on
		c.hints = slices.Clone(nc.proto.hints)
		c.memo = map[reasonKey]string{}
		c.gidNeed, c.hard, c.soft, c.details = nil, nil, nil, nil
		return &c
	}
	return nc
}

// Check returns "" when the node can serve the pod, else why not and
// whether preemption cannot help (Filter's Unresolvable) or may (Failed).
func (nc *NodeChecker) Check(n *NodeState) (reason string, unresolvable bool) {
	if nc.proto.passes(n) {
		return "", false
	}
	c := nc.free.Get().(*checker)
	defer nc.free.Put(c)
	return c.checkNode(n)
}

// FailAll marks every node unresolvable with one reason: the pod's networks
// cannot be worked out, so no node can serve them.
func FailAll(names []string, reason string) Result {
	res := Result{Passed: []string{}, Failed: map[string]string{}, Unresolvable: make(map[string]string, len(names)),
		Classes: map[Class]int{}}
	for _, n := range names {
		res.Unresolvable[n] = reason
	}
	if len(names) > 0 {
		res.Classes[ClassPodNetworks] = len(names)
	}
	return res
}

// checker checks one node after another for one pod, reusing its buffers
// and the reasons it has built: a reason does not depend on the node, so
// the thousand nodes refused for one cause share one string.
type checker struct {
	pod       Pod
	pools     map[string]*PoolRoom
	opts      Options
	resources Amounts
	// hints[k] is where the k-th (rail, master) pair's NIC sat on the last
	// node.
	hints   []int
	gidNeed []int32
	// families are the rails' pool families, with what of them holds for
	// every node.
	families []family
	memo     map[reasonKey]string
	// key identifies the pod's shape (shapeKey) in the nodes' memos.
	key string
	// staticPools: every family is static and has an address for any node.
	staticPools bool

	hard, soft, details []string
	class               Class
}

// reasonKey identifies a reason within one Filter call.
type reasonKey struct {
	class Class
	rail  int
	text  string
	n     int64
}

// family is one address family's pools of one rail.
type family struct {
	rail  int
	names []string
	// static is true when no pool of the family depends on the node; ok and
	// reason then hold for every node.
	static bool
	ok     bool
	reason string
}

func newChecker(pod Pod, pools map[string]*PoolRoom, opts Options) *checker {
	c := &checker{pod: pod, pools: pools, opts: opts, resources: AmountsOf(pod.Requests), memo: map[reasonKey]string{}}
	c.key = intern(shapeKey(pod, c.resources, fmt.Sprint(opts.GIDsPerInterface)))
	for ri, r := range pod.Rails {
		for range r.Masters {
			c.hints = append(c.hints, -1)
		}
		for _, fam := range [][]string{r.PoolsV4, r.PoolsV6} {
			if len(fam) == 0 {
				continue
			}
			f := family{rail: ri, names: fam, static: true}
			for _, name := range fam {
				if room := pools[name]; room != nil && room.nodeDependent() {
					f.static = false
				}
			}
			if f.static {
				f.reason = c.poolReason(ri, fam, nil)
				f.ok = f.reason == ""
			}
			c.families = append(c.families, f)
		}
	}
	c.staticPools = !slices.ContainsFunc(c.families, func(f family) bool { return !f.static || !f.ok })
	return c
}

// reason returns the memoised reason for k, building it the first time.
func (c *checker) reason(k reasonKey, build func() string) string {
	if s, ok := c.memo[k]; ok {
		return s
	}
	s := build()
	c.memo[k] = s
	return s
}

func (c *checker) fail(hard bool, class Class, reason string) {
	if len(c.hard)+len(c.soft) == 0 || (hard && len(c.hard) == 0) {
		c.class = class
	}
	if hard {
		c.hard = append(c.hard, reason)
	} else {
		c.soft = append(c.soft, reason)
	}
}

func (c *checker) detail(format string, args ...any) {
	if c.opts.Details {
		c.details = append(c.details, fmt.Sprintf(format, args...))
	}
}

// join returns the reasons as one, memoised when there are several.
func (c *checker) join(reasons []string) string {
	if len(reasons) == 1 {
		return reasons[0]
	}
	return c.reason(reasonKey{text: strings.Join(reasons, "\x00")}, func() string { return strings.Join(reasons, "; ") })
}

// checkNode checks the node and returns its verdict: "" when it passes,
// else why not and whether preemption cannot help.
func (c *checker) checkNode(n *NodeState) (reason string, unresolvable bool) {
	c.check(n)
	return c.verdict()
}

// decide is checkNode, taking the verdict from m when it holds there and
// remembering it there otherwise (m nil: checkNode).
func (c *checker) decide(n *NodeState, m *VerdictMemo) (reason string, unresolvable bool) {
	if m == nil {
		return c.checkNode(n)
	}
	use := UseOf(n.SlotsBound, n.SlotsInFlight)
	if v := c.remembered(m, n.Facts, use); v != nil {
		c.class = v.class
		return v.reason, v.unresolvable
	}
	reason, unresolvable = c.checkNode(n)
	c.remember(m, n.Facts, use, reason, unresolvable, c.class)
	return reason, unresolvable
}

// verdict is the last check's verdict, as checkNode returns it.
func (c *checker) verdict() (reason string, unresolvable bool) {
	switch {
	case len(c.hard) > 0:
		return c.join(append(c.hard, c.soft...)), true
	case len(c.soft) > 0:
		return c.join(c.soft), false
	}
	return "", false
}

// check collects the node's reasons preemption cannot fix (hard) and those
// it or time can (soft).
func (c *checker) check(n *NodeState) {
	c.hard, c.soft, c.details, c.class = c.hard[:0], c.soft[:0], c.details[:0], ""
	opts := &c.opts
	f := n.Facts
	if f == nil {
		c.fail(true, ClassUnknownNode, "this node is unknown to the railnet extender (deleted, or its cache has not seen it yet)")
		return
	}
	if f.RDMANode == nil {
		c.fail(true, ClassNoRDMANode, "this node has no RDMANode: the railnet node agent has not reported its RDMA NICs; run the agent on the node")
		return
	}
	switch hb := f.Heartbeat; {
	case hb.IsZero():
		c.fail(true, ClassHeartbeat, "this node's RDMANode has no heartbeat: the railnet node agent has not confirmed its inventory; check the agent on the node")
		return
	case opts.HeartbeatTTL > 0 && opts.Now.Sub(hb) > opts.HeartbeatTTL:
		c.fail(true, ClassHeartbeat, c.reason(reasonKey{class: ClassHeartbeat, text: "stale"}, func() string {
			return fmt.Sprintf("this node's RDMANode is stale: no heartbeat for over %s; check the railnet node agent on the node", opts.HeartbeatTTL)
		}))
		c.detail("last heartbeat %s ago", opts.Now.Sub(hb).Round(time.Second))
		return
	case opts.HeartbeatTTL > 0 && hb.Sub(opts.Now) > opts.HeartbeatTTL:
		// A heartbeat from the future would keep a dead node fresh until
		// that time comes; a skew within the TTL is tolerated.
		c.fail(true, ClassHeartbeat, c.reason(reasonKey{class: ClassHeartbeat, text: "future"}, func() string {
			return fmt.Sprintf("this node's RDMANode heartbeat is over %s in the future: the node's clock is ahead; fix its time (NTP) or the agent's", opts.HeartbeatTTL)
		}))
		c.detail("heartbeat %s in the future", hb.Sub(opts.Now).Round(time.Second))
		return
	}
	v := c.static(f)
	for _, r := range v.before {
		c.fail(true, r.class, r.text)
	}
	for i := range c.families {
		fam := &c.families[i]
		switch {
		case fam.static && fam.ok:
		case fam.static:
			c.fail(true, ClassPool, fam.reason)
		default:
			if reason := c.poolReason(fam.rail, fam.names, f.Node); reason != "" {
				c.fail(true, ClassPool, reason)
			}
		}
	}
	for _, r := range v.after {
		c.fail(true, r.class, r.text)
	}
	c.checkSlots(n, v)
}

// passes reports, from the node's memoised verdict alone, that check would
// find nothing: the common case, for a node checked before for a pod of
// the same shape, decided without a pooled checker. false means check
// must decide (the node may pass all the same).
func (c *checker) passes(n *NodeState) bool {
	f := n.Facts
	if !c.staticPools || c.opts.Details || f == nil || f.RDMANode == nil || len(n.SlotsBound)+len(n.SlotsInFlight) > 0 {
		return false
	}
	if !c.fresh(f.Heartbeat) {
		return false
	}
	v := f.filterMemo.Load()
	return v != nil && v.key == c.key && v.clean
}

// fresh reports whether a heartbeat at hb passes at opts.Now.
func (c *checker) fresh(hb time.Time) bool {
	switch ttl := c.opts.HeartbeatTTL; {
	case hb.IsZero():
		return false
	case ttl > 0 && (c.opts.Now.Sub(hb) > ttl || hb.Sub(c.opts.Now) > ttl):
		return false
	}
	return true
}

// staticVerdict is the part of a node's verdict for one pod shape that
// depends on the node's facts alone. A node keeps the one for the last
// shape it was asked about (NodeFacts.filterMemo): the pods of a job share
// a shape, so for them this is worked out once per node, not per request.
type staticVerdict struct {
	key string
	// before are netns, NIC and GID table reasons; after, the pod's
	// resources the node does not advertise.
	before, after []classed
	// totals[k] is the node's allocatable of the pod's k-th resource
	// (checker.resources), 0 when it has none.
	totals []int64
	// clean: no reasons, and the node has room for the pod's resources
	// when no slot is in use.
	clean bool
}

type classed struct {
	class Class
	text  string
}

// static returns the node's static verdict, from its memo when the shape
// matches. With Options.Details it is worked out anew, to note details.
func (c *checker) static(f *NodeFacts) *staticVerdict {
	if v := f.filterMemo.Load(); v != nil && v.key == c.key && !c.opts.Details {
		return v
	}
	v := &staticVerdict{key: c.key, totals: make([]int64, len(c.resources))}
	st := &f.RDMANode.Status
	if st.NetnsMode != railnetv1.NetnsModeShared {
		mode := st.NetnsMode
		if mode == "" {
			mode = "not reported"
		}
		v.before = append(v.before, classed{ClassNetns, c.reason(reasonKey{class: ClassNetns, text: mode}, func() string {
			return fmt.Sprintf("this node's RDMA netns mode is %s; macvlan RDMA needs shared: run `rdma system set netns shared` on the node", mode)
		})})
	}
	v.before = c.checkNICs(f, v.before)
	var ia int
	for k, want := range c.resources {
		total, ok := f.Allocatable.at(want.Resource, &ia)
		v.totals[k] = total
		if want.Value > 0 && (!ok || total == 0) {
			res := want.Resource
			v.after = append(v.after, classed{ClassNoResource, c.reason(reasonKey{class: ClassNoResource, text: string(res)}, func() string {
				return fmt.Sprintf("this node advertises no %s: the RDMA device plugin does not serve it there; check the node agent's device plugin config", res)
			})})
		}
	}
	v.clean = len(v.before)+len(v.after) == 0
	for k, want := range c.resources {
		if want.Value > 0 && v.totals[k] > 0 && want.Value > v.totals[k] {
			v.clean = false
		}
	}
	f.filterMemo.Store(v)
	return v
}

// shapeKey identifies what of the pod a node's memoised verdict depends on.
// Callers intern it: the memos of a thousand nodes are then checked
// against it without reading its bytes.
func shapeKey(pod Pod, resources Amounts, extra string) string {
	var b strings.Builder
	b.WriteString(extra)
	for _, r := range pod.Rails {
		b.WriteString("\x00")
		b.WriteString(r.Network)
		// the address families set the GID entries an interface needs
		fmt.Fprintf(&b, "\x02%t%t", len(r.PoolsV4) > 0, len(r.PoolsV6) > 0)
		for _, m := range r.Masters {
			b.WriteString("\x01")
			b.WriteString(m)
		}
	}
	for _, a := range resources {
		fmt.Fprintf(&b, "\x00%s=%d", a.Resource, a.Value)
	}
	return b.String()
}

func (c *checker) checkNICs(f *NodeFacts, out []classed) []classed {
	c.gidNeed = c.gidNeed[:0]
	for range f.NICs {
		c.gidNeed = append(c.gidNeed, 0)
	}
	k := 0
	for ri, r := range c.pod.Rails {
		for _, m := range r.Masters {
			i := f.nic(m, c.hints[k])
			k++
			if i < 0 {
				out = append(out, classed{ClassNICMissing, c.reason(reasonKey{class: ClassNICMissing, rail: ri, text: m}, func() string {
					return fmt.Sprintf("rail %s: NIC %s not found in this node's RDMANode; fix the network's master or the node's cabling", r.Network, m)
				})})
				c.detail("RDMANode lists %s", nicNames(f.NICs))
				continue
			}
			c.hints[k-1] = i
			nic := &f.NICs[i]
			if nic.Down != "" {
				out = append(out, classed{ClassNICDown, c.reason(reasonKey{class: ClassNICDown, rail: ri, text: m + "\x00" + nic.Down}, func() string {
					return fmt.Sprintf("rail %s: NIC %s is down on this node (%s); bring the link up or drain the node", r.Network, m, nic.Down)
				})})
				c.detail("NIC %s: %s", m, nicState(nic.NIC))
				continue
			}
			c.gidNeed[i] += GIDNeed(nic.NIC, r, c.opts.GIDsPerInterface)
			if need := c.gidNeed[i]; nic.GIDTableSize > 0 && nic.GIDTableUsed+need > nic.GIDTableSize {
				out = append(out, classed{ClassGIDFull, c.reason(reasonKey{class: ClassGIDFull, rail: ri, text: m, n: int64(need)}, func() string {
					return fmt.Sprintf("rail %s: the GID table of NIC %s's RDMA port is full on this node (%d free entries needed); remove pods using that NIC or pick another node",
						r.Network, m, need)
				})})
				c.detail("GID table of %s port %d (NIC %s): %d of %d entries used", nic.RDMADevice, nic.Port, m, nic.GIDTableUsed, nic.GIDTableSize)
			}
		}
	}
	return out
}

func (c *checker) checkSlots(n *NodeState, v *staticVerdict) {
	var ib, ii int
	for k, want := range c.resources {
		total := v.totals[k]
		if want.Value <= 0 || total == 0 {
			continue // not advertised: v.after says so
		}
		res := want.Resource
		bound, _ := n.SlotsBound.at(res, &ib)
		inflight, _ := n.SlotsInFlight.at(res, &ii)
		if bound+inflight+want.Value > total {
			c.fail(false, ClassSlots, c.reason(reasonKey{class: ClassSlots, text: string(res), n: want.Value}, func() string {
				return SlotsReason(res, want.Value)
			}))
			c.detail("%s: %d of %d slots in use (%d by bound pods, %d by pods being scheduled)", res, bound+inflight, total, bound, inflight)
		}
	}
}

// SlotsReason says that a node has too few free slots of res for a pod
// that needs want of them; retryable (ClassSlots).
func SlotsReason(res corev1.ResourceName, want int64) string {
	return fmt.Sprintf("RDMA resource %s: too few free slots on this node for the pod's %d; wait for pods to finish or raise rdmaHcaMax", res, want)
}

// poolReason is "" when one of the rail's pools of one family can give the
// node an address, else why none can. node nil: only the node-independent
// checks (the family has no node-dependent pool).
func (c *checker) poolReason(ri int, names []string, node *corev1.Node) string {
	var failed uint64 // bit i: pool i refused for a node-dependent cause
	for i, name := range names {
		room := c.pools[name]
		if room == nil {
			continue
		}
		switch {
		case room.invalid():
		case node != nil && !room.serves(node):
			if i < 64 {
				failed |= 1 << i
			}
		case room.Free() == 0:
		default:
			return ""
		}
	}
	r := c.pod.Rails[ri]
	return c.reason(reasonKey{class: ClassPool, rail: ri, text: strings.Join(names, ","), n: int64(failed)}, func() string {
		why := make([]string, 0, len(names))
		for i, name := range names {
			room := c.pools[name]
			switch {
			case room == nil:
				why = append(why, fmt.Sprintf("SpiderIPPool %s does not exist; create it or fix the network's ippools", name))
			case i < 64 && failed&(1<<i) != 0:
				why = append(why, room.servesReason())
			default:
				why = append(why, room.staticReason())
			}
		}
		return fmt.Sprintf("rail %s: no address for this node: %s", r.Network, strings.Join(why, "; "))
	})
}

func nicNames(nics []NICFacts) string {
	if len(nics) == 0 {
		return "no NICs"
	}
	names := make([]string, len(nics))
	for i, n := range nics {
		names[i] = n.Netdev
	}
	return strings.Join(names, ", ")
}

func nicState(n *railnetv1.NIC) string {
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
