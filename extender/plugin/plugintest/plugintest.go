package plugintest

import (
	"context"
	"maps"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

// Plugin is what Cycle calls of RailnetPlacement.
type Plugin interface {
	fwk.PreFilterPlugin
	fwk.FilterPlugin
	fwk.PreScorePlugin
	fwk.ScorePlugin
	fwk.SignPlugin
}

// CycleState is a fwk.CycleState that reads and writes and tells whether
// it is a pod group's cycle (anything else panics).
type CycleState struct {
	fwk.CycleState
	m map[fwk.StateKey]fwk.StateData
	// PodGroup: the cycle is a pod group's (IsPodGroupSchedulingCycle).
	PodGroup bool
}

// IsPodGroupSchedulingCycle implements fwk.CycleState.
func (c *CycleState) IsPodGroupSchedulingCycle() bool { return c.PodGroup }

// NewCycleState returns an empty cycle state.
func NewCycleState() *CycleState { return &CycleState{m: map[fwk.StateKey]fwk.StateData{}} }

// Read implements fwk.CycleState.
func (c *CycleState) Read(k fwk.StateKey) (fwk.StateData, error) {
	if v, ok := c.m[k]; ok {
		return v, nil
	}
	return nil, fwk.ErrNotFound
}

// Write implements fwk.CycleState.
func (c *CycleState) Write(k fwk.StateKey, v fwk.StateData) { c.m[k] = v }

type scalars struct {
	fwk.Resource
	m map[corev1.ResourceName]int64
}

func (r *scalars) GetScalarResources() map[corev1.ResourceName]int64 { return r.m }

type nodeInfo struct {
	fwk.NodeInfo
	node            *corev1.Node
	alloc, requestd scalars
	gen             int64
}

func (n *nodeInfo) Node() *corev1.Node           { return n.node }
func (n *nodeInfo) GetAllocatable() fwk.Resource { return &n.alloc }
func (n *nodeInfo) GetRequested() fwk.Resource   { return &n.requestd }
func (n *nodeInfo) GetGeneration() int64         { return n.gen }

// generation numbers NodeInfos and their changes as the scheduler's
// does: never twice the same.
var generation atomic.Int64

// NodeInfo is the node as the scheduler's snapshot holds it: its
// allocatable of every resource and used of each resource requested by the
// pods bound (or assumed) there.
func NodeInfo(n *corev1.Node, used map[corev1.ResourceName]int64) fwk.NodeInfo {
	ni := &nodeInfo{node: n, alloc: scalars{m: map[corev1.ResourceName]int64{}}, requestd: scalars{m: used}, gen: generation.Add(1)}
	for r, q := range n.Status.Allocatable {
		ni.alloc.m[r] = q.Value()
	}
	return ni
}

// SetUsed changes the use of resource r on ni (a NodeInfo of this
// package) in place, as the scheduler's cache does when a pod is added or
// removed, and gives ni a new generation; with keepGeneration it keeps
// the generation, as the scheduler's snapshot does when it assumes a pod
// of a pod group.
func SetUsed(ni fwk.NodeInfo, r corev1.ResourceName, v int64, keepGeneration bool) {
	n := ni.(*nodeInfo)
	used := maps.Clone(n.requestd.m) // the map may be shared with other NodeInfos
	if used == nil {
		used = map[corev1.ResourceName]int64{}
	}
	used[r] = v
	n.requestd.m = used
	if !keepGeneration {
		n.gen = generation.Add(1)
	}
}

// Cycle runs the plugin's extension points for one pod as the framework
// does — PreFilter, Filter per node unless PreFilter returned Skip,
// PreScore and, unless it returned Skip, Score on the nodes that passed,
// NormalizeScore if it has one — here on one goroutine, and returns every
// node's Filter status (nil: passed) and the passed nodes' normalized
// scores (0 when Score was skipped). PreFilter's status is returned when
// it neither succeeded nor skipped.
func Cycle(pl Plugin, cs fwk.CycleState, pod *corev1.Pod, nodes []fwk.NodeInfo) (filtered []*fwk.Status, scores fwk.NodeScoreList, pre *fwk.Status) {
	ctx := context.Background()
	pl.SignPod(ctx, pod)
	_, st := pl.PreFilter(ctx, cs, pod, nodes)
	if !st.IsSuccess() && !st.IsSkip() {
		return nil, nil, st
	}
	filtered = make([]*fwk.Status, len(nodes))
	feasible := make([]fwk.NodeInfo, 0, len(nodes))
	for i, ni := range nodes {
		if !st.IsSkip() {
			filtered[i] = pl.Filter(ctx, cs, pod, ni)
		}
		if filtered[i].IsSuccess() {
			feasible = append(feasible, ni)
		}
	}
	scores = make(fwk.NodeScoreList, 0, len(feasible))
	st = pl.PreScore(ctx, cs, pod, feasible)
	for _, ni := range feasible {
		var s int64
		switch {
		case st.IsSkip():
		case !st.IsSuccess():
			return filtered, nil, st
		default:
			var sst *fwk.Status
			if s, sst = pl.Score(ctx, cs, pod, ni); !sst.IsSuccess() {
				return filtered, nil, sst
			}
		}
		scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: s})
	}
	if ext := pl.ScoreExtensions(); ext != nil && !st.IsSkip() {
		return filtered, scores, ext.NormalizeScore(ctx, cs, pod, scores)
	}
	return filtered, scores, nil
}
