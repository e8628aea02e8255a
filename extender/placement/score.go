package placement

import (
	"math"

	corev1 "k8s.io/api/core/v1"

	railnetv1alpha1 "github.com/railnet/railnet/api/railnet/v1alpha1"
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
	for i := range nodes {
		n := &nodes[i]
		out[i].Host = n.Name
		if len(pod.Rails) == 0 || n.Node == nil {
			continue
		}
		var s int64
		switch {
		case blocks[n.Node.Labels[topo.BlockKey]] && n.Node.Labels[topo.BlockKey] != "":
			s += scoreSameBlock
		case spines[n.Node.Labels[topo.SpineKey]] && n.Node.Labels[topo.SpineKey] != "":
			s += scoreSameSpine
		}
		s += int64(math.Round(packing(pod, n) * scorePackMax))
		if gpuNear(pod, n) {
			s += scoreAffinityMax
		}
		out[i].Score = min(s, MaxScore)
	}
	return out
}

// packing is the mean fraction of the node's RDMA slots in use once the pod
// is placed: fuller nodes score higher, so jobs leave whole nodes free.
func packing(pod Pod, n *NodeState) float64 {
	var sum float64
	var k int
	for res, want := range pod.Requests {
		q, ok := n.Node.Status.Allocatable[res]
		total := q.Value()
		if !ok || total <= 0 || want <= 0 {
			continue
		}
		used := n.SlotsBound[res] + n.SlotsInFlight[res] + want
		sum += min(1, float64(used)/float64(total))
		k++
	}
	if k == 0 {
		return 0
	}
	return sum / float64(k)
}

// gpuNear reports whether every rail NIC of the pod sits at most a PCIe
// switch tree away (PIX or PXB) from a GPU.
func gpuNear(pod Pod, n *NodeState) bool {
	if n.RDMANode == nil {
		return false
	}
	seen := false
	for _, r := range pod.Rails {
		for _, m := range r.Masters {
			nic := findNIC(n.RDMANode.Status.NICs, m)
			if nic == nil {
				return false
			}
			if nic.GPUDistance != railnetv1alpha1.DistancePIX && nic.GPUDistance != railnetv1alpha1.DistancePXB {
				return false
			}
			seen = true
		}
	}
	return seen
}
