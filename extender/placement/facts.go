package placement

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// NodeFacts is what Filter and Score read of one node, worked out by
// NewNodeFacts when the node's Node or RDMANode changes rather than on
// every request: a request then does no parsing, allocation or string
// building per node. It is immutable once built and shares the objects it
// was built from, which the caller must not change either.
type NodeFacts struct {
	// Node is the node's Node; never nil.
	Node *corev1.Node
	// RDMANode is nil when the node agent has not reported the node.
	RDMANode *railnetv1.RDMANode
	// Allocatable is Node's status.allocatable as integers.
	Allocatable Amounts
	// NICs parallels RDMANode's status.nics.
	NICs []NICFacts
	// Heartbeat is RDMANode's status.heartbeatTime; zero when it has none.
	Heartbeat time.Time

	// The verdicts for the last pod shape Filter and Score saw.
	filterMemo atomic.Pointer[staticVerdict]
	scoreMemo  atomic.Pointer[scoreVerdict]
}

// NodeRef holds one node's current facts, so a caller that keeps it reads
// them without a lookup by name. Its owner (a store) sets it whenever the
// node's facts change, and to nil for good once the node is gone (a node
// added again gets a new NodeRef).
type NodeRef struct {
	facts atomic.Pointer[NodeFacts]
}

// NewNodeRef returns a NodeRef holding nf.
func NewNodeRef(nf *NodeFacts) *NodeRef {
	r := &NodeRef{}
	r.facts.Store(nf)
	return r
}

// Facts returns the node's current facts; nil when the node is gone (or r
// is nil).
func (r *NodeRef) Facts() *NodeFacts {
	if r == nil {
		return nil
	}
	return r.facts.Load()
}

// Set replaces the node's facts (nil: the node is gone); for the store
// that owns r.
func (r *NodeRef) Set(nf *NodeFacts) { r.facts.Store(nf) }

// NICFacts is one NIC of an RDMANode, with its health decided.
type NICFacts struct {
	*railnetv1.NIC
	// Down is "" when the NIC can carry its rail, else why not in words that
	// hold for any node in that state ("link down", "RDMA port DOWN",
	// "node label railnet.io/rail.1=down").
	Down string
	// GPUNear is true when a GPU sits at most a PCIe switch tree away (PIX
	// or PXB).
	GPUNear bool
}

// NewNodeFacts computes a node's facts; rn may be nil.
func NewNodeFacts(node *corev1.Node, rn *railnetv1.RDMANode) *NodeFacts {
	f := &NodeFacts{Node: node, RDMANode: rn, Allocatable: make(Amounts, 0, len(node.Status.Allocatable))}
	for r, q := range node.Status.Allocatable {
		f.Allocatable = append(f.Allocatable, Amount{Resource: Intern(r), Value: q.Value()})
	}
	f.Allocatable.sort()
	if rn == nil {
		return f
	}
	if hb := rn.Status.HeartbeatTime; hb != nil {
		f.Heartbeat = hb.Time
	}
	f.NICs = make([]NICFacts, len(rn.Status.NICs))
	for i := range rn.Status.NICs {
		nic := &rn.Status.NICs[i]
		f.NICs[i] = NICFacts{NIC: nic, Down: nicDown(nic, node.Labels),
			GPUNear: nic.GPUDistance == railnetv1.DistancePIX || nic.GPUDistance == railnetv1.DistancePXB}
	}
	return f
}

// nicDown says why the NIC cannot carry its rail, or "" when it can.
func nicDown(nic *railnetv1.NIC, labels map[string]string) string {
	switch {
	case nic.LinkState != "up":
		return "link " + orUnknown(nic.LinkState)
	case !nic.Up():
		return "RDMA port " + orUnknown(nic.PortState)
	case nic.Rail != nil && labels[railnetv1.RailLabel(*nic.Rail)] == railnetv1.RailDown:
		return "node label " + railnetv1.RailLabel(*nic.Rail) + "=" + railnetv1.RailDown
	}
	return ""
}

// nic returns the index of the NIC named netdev, trying hint first (NICs
// of nodes alike sit at the same index), or -1.
func (f *NodeFacts) nic(netdev string, hint int) int {
	if hint >= 0 && hint < len(f.NICs) && f.NICs[hint].Netdev == netdev {
		return hint
	}
	for i := range f.NICs {
		if f.NICs[i].Netdev == netdev {
			return i
		}
	}
	return -1
}

// interned maps a string to its one shared copy.
var (
	interned  sync.Map
	internedN atomic.Int64
)

// maxInterned bounds the table: pods may name any extended resource.
const maxInterned = 4096

// Intern returns the one shared copy of r's name. Amounts hold interned
// names, so comparing two of them is a pointer comparison that does not
// read the names' bytes from wherever in the heap they were decoded.
func Intern(r corev1.ResourceName) corev1.ResourceName {
	return corev1.ResourceName(intern(string(r)))
}

// intern returns the one shared copy of s (s itself once the table is
// full). Equal interned strings compare without reading their bytes.
func intern(s string) string {
	if v, ok := interned.Load(s); ok {
		return v.(string)
	}
	if internedN.Load() >= maxInterned {
		return s
	}
	s = strings.Clone(s)
	v, loaded := interned.LoadOrStore(s, s)
	if !loaded {
		internedN.Add(1)
	}
	return v.(string)
}

// Amount is a quantity of one resource.
type Amount struct {
	Resource corev1.ResourceName
	Value    int64
}

// Amounts are quantities sorted by resource name, each resource once, so
// several of them are read together in one merge walk.
type Amounts []Amount

// AmountsOf turns a map into sorted Amounts; nil for an empty map.
func AmountsOf(m map[corev1.ResourceName]int64) Amounts {
	if len(m) == 0 {
		return nil
	}
	out := make(Amounts, 0, len(m))
	for r, v := range m {
		out = append(out, Amount{Resource: Intern(r), Value: v})
	}
	out.sort()
	return out
}

func (a Amounts) sort() {
	slices.SortFunc(a, func(x, y Amount) int { return strings.Compare(string(x.Resource), string(y.Resource)) })
}

// Get returns the amount of r.
func (a Amounts) Get(r corev1.ResourceName) (int64, bool) {
	var i int
	return a.at(r, &i)
}

// at returns the amount of r, trying index *hint first and leaving *hint
// just after where r was found: walked in the order of another Amounts with
// the same resources, every lookup is one string comparison.
func (a Amounts) at(r corev1.ResourceName, hint *int) (int64, bool) {
	if h := *hint; h < len(a) && a[h].Resource == r {
		*hint = h + 1
		return a[h].Value, true
	}
	for i := range a {
		if a[i].Resource == r {
			*hint = i + 1
			return a[i].Value, true
		}
	}
	return 0, false
}
