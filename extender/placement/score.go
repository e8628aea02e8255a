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
	out := make([]HostScore, len(nodes))
	blocks, spines := map[string]bool{}, map[string]bool{}
	for _, p := range peers {
		if v := p.Labels[topo.BlockKey]; v != "" {
			blocks[v] = true
		}
		if v := p.Labels[topo.SpineKey]; v != "" {
			spines[v] = true
		}
	}
	local := len(blocks)+len(spines) > 0
	s := scorer{pod: pod, resources: AmountsOf(pod.Requests), topo: topo}
	for _, r := range pod.Rails {
		s.hints = append(s.hints, make([]int, len(r.Masters))...)
	}
	s.key = shapeKey(pod, s.resources, topo.BlockKey+"\x00"+topo.SpineKey)
	for i := range nodes {
		n := &nodes[i]
		out[i].Host = n.Name
		if len(pod.Rails) == 0 || n.Facts == nil {
			continue
		}
		v := s.static(n.Facts)
		var score int64
		if local {
			switch {
			case v.block != "" && blocks[v.block]:
				score += scoreSameBlock
			case v.spine != "" && spines[v.spine]:
				score += scoreSameSpine
			}
		}
		score += int64(math.Round(s.packing(n, v) * scorePackMax))
		if v.gpuNear {
			score += scoreAffinityMax
		}
		out[i].Score = min(score, MaxScore)
	}
	return out
}

// scorer scores one node after another for one pod.
type scorer struct {
	pod       Pod
	resources Amounts
	topo      Topology
	hints     []int
	key       string
}

// scoreVerdict is what of a node's score for one pod shape depends on the
// node's facts alone (see staticVerdict).
type scoreVerdict struct {
	key          string
	block, spine string
	gpuNear      bool
	// totals as in staticVerdict.
	totals []int64
}

func (s *scorer) static(f *NodeFacts) *scoreVerdict {
	if v := f.scoreMemo.Load(); v != nil && v.key == s.key {
		return v
	}
	v := &scoreVerdict{key: s.key, block: f.Node.Labels[s.topo.BlockKey], spine: f.Node.Labels[s.topo.SpineKey],
		gpuNear: s.gpuNear(f), totals: make([]int64, len(s.resources))}
	var ia int
	for k, want := range s.resources {
		v.totals[k], _ = f.Allocatable.at(want.Resource, &ia)
	}
	f.scoreMemo.Store(v)
	return v
}

// packing is the mean fraction of the node's RDMA slots in use once the pod
// is placed: fuller nodes score higher, so jobs leave whole nodes free.
func (s *scorer) packing(n *NodeState, v *scoreVerdict) float64 {
	var sum float64
	var k int
	var ib, ii int
	for j, want := range s.resources {
		total := v.totals[j]
		if total <= 0 || want.Value <= 0 {
			continue
		}
		bound, _ := n.SlotsBound.at(want.Resource, &ib)
		inflight, _ := n.SlotsInFlight.at(want.Resource, &ii)
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
func (s *scorer) gpuNear(f *NodeFacts) bool {
	if f.RDMANode == nil {
		return false
	}
	seen := false
	k := 0
	for _, r := range s.pod.Rails {
		for _, m := range r.Masters {
			i := f.nic(m, s.hints[k])
			if i < 0 || !f.NICs[i].GPUNear {
				return false
			}
			s.hints[k] = i
			k++
			seen = true
		}
	}
	return seen
}
