package placement

import (
	"math"

	corev1 "k8s.io/api/core/v1"
)

// Topology names the Node labels that place a node in the network fabric.
type Topology struct {
	// BlockKey labels a node's leaf block (nodes under the same leaf switches).
	BlockKey string
	// SpineKey labels a node's spine group.
	SpineKey string
}

// DefaultTopology follows NVIDIA topograph's node labels.
var DefaultTopology = Topology{
	BlockKey: "network.topology.nvidia.com/block",
	SpineKey: "network.topology.nvidia.com/spine",
}

// Score weights: locality outranks bin-packing, which outranks GPU affinity.
const (
	scoreSameBlock   = 6
	scoreSameSpine   = 3
	scorePackMax     = 3
	scoreAffinityMax = 1
	// MaxScore is the extender protocol's maximum.
	MaxScore = scoreSameBlock + scorePackMax + scoreAffinityMax
)

// HostScore is one node's score, 0..MaxScore.
type HostScore struct {
	Host  string
	Score int64
}

// Score ranks the nodes for the pod. peers are the Nodes that run (or are
// about to run) other pods of the pod's job; nil when it has no job.
// A pod without rails scores 0 everywhere.
func Score(pod Pod, nodes []NodeState, peers []*corev1.Node, topo Topology) []HostScore {
	return score(pod, nodes, peers, topo, nil, nil)
}

// score is Score, taking what of nodes[i]'s score does not depend on the
// peers from kept(i) when it holds there and remembering it there
// otherwise (kept nil, or returning nil: work out anew, keep nothing),
// into out when it has room.
func score(pod Pod, nodes []NodeState, peers []*corev1.Node, topo Topology, kept func(i int) *ScoreMemo, out []HostScore) []HostScore {
	if out == nil || cap(out) < len(nodes) {
		out = make([]HostScore, len(nodes))
	}
	out = out[:len(nodes)]
	s := NewNodeScorer(pod, peers, topo)
	for i := range nodes {
		n := &nodes[i]
		var m *ScoreMemo
		if kept != nil && len(pod.Rails) > 0 && n.Facts != nil {
			m = kept(i)
		}
		if m == nil {
			out[i] = HostScore{Host: n.Name, Score: s.Score(n.Facts, n.SlotsBound, n.SlotsInFlight)}
			continue
		}
		use := UseOf(n.SlotsBound, n.SlotsInFlight)
		sc, ok := s.ScoreRemembered(m, n.Facts, use)
		if !ok {
			sc = s.ScoreAndRemember(m, n.Facts, use, n.SlotsBound, n.SlotsInFlight)
		}
		out[i] = HostScore{Host: n.Name, Score: sc}
	}
	return out
}

// NodeScorer scores one node at a time for one pod, for callers handed
// nodes one by one on many goroutines (a scheduler plugin's Score); Score
// is safe for concurrent use and its scores are those of the function
// Score.
type NodeScorer struct {
	pod       Pod
	resources Amounts
	topo      Topology
	key       string
	// blocks and spines hold the peers' labels, interned (so a node's
	// interned label is found by comparing pointers); local is true when
	// there is any.
	blocks, spines labelSet
	local          bool
}

// labelSet is a set of interned label values: a short list while small
// (the blocks of one job), a map beyond.
type labelSet struct {
	list []string
	m    map[string]bool
}

// maxLabelList is how many values a labelSet keeps in its list.
const maxLabelList = 8

func (ls *labelSet) add(v string) {
	if v == "" || ls.has(v) {
		return
	}
	v = intern(v)
	if ls.m == nil && len(ls.list) < maxLabelList {
		ls.list = append(ls.list, v)
		return
	}
	if ls.m == nil {
		ls.m = make(map[string]bool, 2*maxLabelList)
		for _, w := range ls.list {
			ls.m[w] = true
		}
		ls.list = nil
	}
	ls.m[v] = true
}

func (ls *labelSet) has(v string) bool {
	if ls.m != nil {
		return ls.m[v]
	}
	for _, w := range ls.list {
		if w == v {
			return true
		}
	}
	return false
}

func (ls *labelSet) empty() bool { return len(ls.list)+len(ls.m) == 0 }

// NewNodeScorer works out once what every node's score for the pod needs.
func NewNodeScorer(pod Pod, peers []*corev1.Node, topo Topology) *NodeScorer {
	s := &NodeScorer{pod: pod, resources: AmountsOf(pod.Requests), topo: topo}
	for _, p := range peers {
		s.blocks.add(p.Labels[topo.BlockKey])
		s.spines.add(p.Labels[topo.SpineKey])
	}
	s.local = !s.blocks.empty() || !s.spines.empty()
	s.key = intern(shapeKey(pod, s.resources, topo.BlockKey+"\x00"+topo.SpineKey))
	return s
}

// Score returns the score, 0..MaxScore, of the node with facts f (nil: the
// cache does not know it, 0) and slots in use (NodeState's SlotsBound and
// SlotsInFlight). Neither slice is kept.
func (s *NodeScorer) Score(f *NodeFacts, bound, inFlight Amounts) int64 {
	if len(s.pod.Rails) == 0 || f == nil {
		return 0
	}
	v := s.static(f)
	return s.total(v.block, v.spine, s.own(v, bound, inFlight))
}

// own is the part of the node's score that does not depend on the pod's
// job: bin-packing of the slots in use once the pod is placed, and GPU
// affinity.
func (s *NodeScorer) own(v *scoreVerdict, bound, inFlight Amounts) int64 {
	own := int64(math.Round(s.packing(bound, inFlight, v) * scorePackMax))
	if v.gpuNear {
		own += scoreAffinityMax
	}
	return own
}

// total adds job locality, by the node's block and spine labels, to own.
func (s *NodeScorer) total(block, spine string, own int64) int64 {
	score := own
	if s.local {
		switch {
		case block != "" && s.blocks.has(block):
			score += scoreSameBlock
		case spine != "" && s.spines.has(spine):
			score += scoreSameSpine
		}
	}
	return min(score, MaxScore)
}

// scoreVerdict is what of a node's score for one pod shape depends on the
// node's facts alone (see staticVerdict).
type scoreVerdict struct {
	key string
	// block and spine are the node's labels, interned.
	block, spine string
	gpuNear      bool
	// totals as in staticVerdict.
	totals []int64
}

func (s *NodeScorer) static(f *NodeFacts) *scoreVerdict {
	if v := f.scoreMemo.Load(); v != nil && v.key == s.key {
		return v
	}
	v := &scoreVerdict{key: s.key, block: internLabel(f.Node.Labels[s.topo.BlockKey]), spine: internLabel(f.Node.Labels[s.topo.SpineKey]),
		gpuNear: s.gpuNear(f), totals: make([]int64, len(s.resources))}
	var ia int
	for k, want := range s.resources {
		v.totals[k], _ = f.Allocatable.at(want.Resource, &ia)
	}
	f.scoreMemo.Store(v)
	return v
}

// internLabel interns a label value; "" stays "".
func internLabel(v string) string {
	if v == "" {
		return ""
	}
	return intern(v)
}

// packing is the mean fraction of the node's RDMA slots in use once the pod
// is placed: fuller nodes score higher, so jobs leave whole nodes free.
func (s *NodeScorer) packing(boundUse, inFlightUse Amounts, v *scoreVerdict) float64 {
	var sum float64
	var k int
	var ib, ii int
	for j, want := range s.resources {
		total := v.totals[j]
		if total <= 0 || want.Value <= 0 {
			continue
		}
		bound, _ := boundUse.at(want.Resource, &ib)
		inflight, _ := inFlightUse.at(want.Resource, &ii)
		sum += min(1, float64(bound+inflight+want.Value)/float64(total))
		k++
	}
	if k == 0 {
		return 0
	}
	return sum / float64(k)
}

// gpuNear reports whether every rail NIC of the pod sits at most a PCIe
// switch tree away (PIX or PXB) from a GPU.
func (s *NodeScorer) gpuNear(f *NodeFacts) bool {
	if f.RDMANode == nil {
		return false
	}
	seen := false
	k := 0 // nodes alike list the k-th master's NIC at index k
	for _, r := range s.pod.Rails {
		for _, m := range r.Masters {
			i := f.nic(m, k)
			if i < 0 || !f.NICs[i].GPUNear {
				return false
			}
			k++
			seen = true
		}
	}
	return seen
}
