package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/railnet/railnet/extender/plugin"
	"github.com/railnet/railnet/extender/state/statetest"
)

// The framework's CycleState and NodeInfo live in k8s.io/kubernetes; these
// fakes hold only what the plugin reads.
type cycleState struct {
	fwk.CycleState
	m map[fwk.StateKey]fwk.StateData
}

func (c *cycleState) Read(k fwk.StateKey) (fwk.StateData, error) {
	if v, ok := c.m[k]; ok {
		return v, nil
	}
	return nil, fwk.ErrNotFound
}
func (c *cycleState) Write(k fwk.StateKey, v fwk.StateData) { c.m[k] = v }

type scalars struct {
	fwk.Resource
	m map[corev1.ResourceName]int64
}

func (r scalars) GetScalarResources() map[corev1.ResourceName]int64 { return r.m }

type nodeInfo struct {
	fwk.NodeInfo
	node            *corev1.Node
	alloc, requestd scalars
}

func (n *nodeInfo) Node() *corev1.Node           { return n.node }
func (n *nodeInfo) GetAllocatable() fwk.Resource { return n.alloc }
func (n *nodeInfo) GetRequested() fwk.Resource   { return n.requestd }

// nodeInfos are the store's nodes as the scheduler's snapshot holds them:
// allocatable and the bound pods' requests of each rail resource.
func nodeInfos(s *statetest.MemStore, names []string) []fwk.NodeInfo {
	out := make([]fwk.NodeInfo, len(names))
	for i, name := range names {
		n := s.Nodes[name]
		ni := &nodeInfo{node: n, alloc: scalars{m: map[corev1.ResourceName]int64{}}, requestd: scalars{m: map[corev1.ResourceName]int64{}}}
		for r, q := range n.Status.Allocatable {
			ni.alloc.m[r] = q.Value()
			ni.requestd.m[r] = podsPerNode
		}
		out[i] = ni
	}
	return out
}

// pluginCycle runs RailnetPlacement's extension points for one pod as the
// framework does (Filter and Score once per node, here on one goroutine)
// and returns how many nodes passed.
func pluginCycle(pl *plugin.Plugin, p *corev1.Pod, infos []fwk.NodeInfo, feasible []fwk.NodeInfo) int {
	ctx := context.Background()
	cs := &cycleState{m: map[fwk.StateKey]fwk.StateData{}}
	pl.SignPod(ctx, p)
	pl.PreFilter(ctx, cs, p, infos)
	feasible = feasible[:0]
	for _, ni := range infos {
		if pl.Filter(ctx, cs, p, ni).IsSuccess() {
			feasible = append(feasible, ni)
		}
	}
	pl.PreScore(ctx, cs, p, feasible)
	scores := make(fwk.NodeScoreList, 0, len(feasible))
	for _, ni := range feasible {
		s, _ := pl.Score(ctx, cs, p, ni)
		scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: s})
	}
	pl.NormalizeScore(ctx, cs, p, scores)
	return len(feasible)
}

// BenchmarkPluginCycle is BenchmarkFilterPrioritize's cycle through the
// scheduler plugin instead of HTTP: PreFilter, Filter per node, PreScore,
// Score per node and NormalizeScore, on the same cluster and pod; it prints
// the plugin's p50/p99, CPU and allocations beside the extender's handler
// (interleaved, same load) and their ratio.
func BenchmarkPluginCycle(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			store, names := cluster(n)
			args, err := plugin.DecodeArgs(nil)
			if err != nil {
				b.Fatal(err)
			}
			pl := plugin.NewWithStore(store, args)
			infos := nodeInfos(store, names)
			feasible := make([]fwk.NodeInfo, 0, n)
			p := pod("job-0-new", "job-0")
			ext := newExtender(store)
			eb := newBodies(b, ext, p, names)
			if got := pluginCycle(pl, p, infos, feasible); got != eb.passed {
				b.Fatalf("plugin passed %d nodes, extender %d", got, eb.passed)
			}
			var e, ps sample
			b.ResetTimer()
			for range b.N {
				e.run(b, ext, eb)
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				runtime.LockOSThread()
				cpu := threadCPU()
				start := time.Now()
				pluginCycle(pl, p, infos, feasible)
				ps.durs = append(ps.durs, time.Since(start))
				ps.cpu += threadCPU() - cpu
				runtime.UnlockOSThread()
				runtime.ReadMemStats(&m1)
				ps.allocs += m1.Mallocs - m0.Mallocs
			}
			b.StopTimer()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(ps.pct(0.5)), "p50-ms")
			b.ReportMetric(ms(ps.pct(0.99)), "p99-ms")
			b.ReportMetric(float64(ps.allocs)/float64(b.N), "allocs/cycle")
			b.ReportMetric(float64(ps.cpu)/float64(e.cpu), "x-extender-cpu")
			fmt.Printf("nodes=%d passed=%d cycles=%d | plugin p50 %.2fms p99 %.2fms cpu %.2fms %d allocs | extender (HTTP+JSON in process) p50 %.2fms p99 %.2fms cpu %.2fms %d allocs | plugin/extender cpu %.2fx\n",
				n, eb.passed, b.N, ms(ps.pct(0.5)), ms(ps.pct(0.99)), ms(ps.cpu/time.Duration(b.N)), ps.allocs/uint64(b.N),
				ms(e.pct(0.5)), ms(e.pct(0.99)), ms(e.cpu/time.Duration(b.N)), e.allocs/uint64(b.N), float64(ps.cpu)/float64(e.cpu))
		})
	}
}
