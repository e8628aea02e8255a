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
	"github.com/railnet/railnet/extender/plugin/plugintest"
	"github.com/railnet/railnet/extender/state/statetest"
	"github.com/railnet/railnet/test/cputime"
)

// nodeInfos are the store's nodes as the scheduler's snapshot holds them:
// allocatable and the bound pods' requests of each rail resource.
func nodeInfos(s *statetest.MemStore, names []string) []fwk.NodeInfo {
	out := make([]fwk.NodeInfo, len(names))
	for i, name := range names {
		n := s.Nodes[name]
		used := map[corev1.ResourceName]int64{}
		for r := range n.Status.Allocatable {
			used[r] = statetest.GPUPodsPerNode
		}
		out[i] = plugintest.NodeInfo(n, used)
	}
	return out
}

// pluginCycle runs RailnetPlacement's extension points for one pod as the
// framework does (plugintest.Cycle) and returns how many nodes passed.
func pluginCycle(pl *plugin.Plugin, p *corev1.Pod, infos []fwk.NodeInfo) int {
	_, scores, _ := plugintest.Cycle(pl, plugintest.NewCycleState(), p, infos)
	return len(scores)
}

// BenchmarkPluginCycle is BenchmarkFilterPrioritize's cycle through the
// scheduler plugin instead of HTTP: PreFilter, Filter per node, PreScore,
// Score per node (the plugin has no NormalizeScore), on the same cluster
// and pod; it prints
// the plugin's p50/p99, CPU and allocations beside the extender's handler
// (interleaved, same load) and their ratio.
//
// With inflight=K, K other pods are reserved (Reserve) and stay in the
// in-flight book, as pods bound but whose IPAllocations the cache does not
// show yet do: PreFilter looks each of them up every cycle.
func BenchmarkPluginCycle(b *testing.B) {
	for _, bc := range []struct{ nodes, inflight int }{{1000, 0}, {1000, 300}, {5000, 0}} {
		n := bc.nodes
		name := fmt.Sprintf("nodes=%d", n)
		if bc.inflight > 0 {
			name += fmt.Sprintf(",inflight=%d", bc.inflight)
		}
		b.Run(name, func(b *testing.B) {
			store, names, p := cluster(n)
			args, err := plugin.DecodeArgs(nil)
			if err != nil {
				b.Fatal(err)
			}
			args.InFlightTTL.Duration = time.Hour // no entry expires during the run
			pl := plugin.NewWithStore(store, args)
			infos := nodeInfos(store, names)
			reserveInFlight(b, pl, store, names, infos, bc.inflight)
			ext := newExtender(store, false)
			eb := newBodies(b, ext, p, names)
			if got := pluginCycle(pl, p, infos); got != eb.passed {
				b.Fatalf("plugin passed %d nodes, extender %d", got, eb.passed)
			}
			var e, ps sample
			b.ResetTimer()
			for range b.N {
				e.run(b, ext, eb)
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				runtime.LockOSThread()
				cpu := cputime.Thread()
				start := time.Now()
				pluginCycle(pl, p, infos)
				ps.durs = append(ps.durs, time.Since(start))
				ps.cpu += cputime.Thread() - cpu
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
			fmt.Printf("%s passed=%d cycles=%d | plugin p50 %.2fms p99 %.2fms cpu %.2fms %d allocs | extender (HTTP+JSON in process) p50 %.2fms p99 %.2fms cpu %.2fms %d allocs | plugin/extender cpu %.2fx\n",
				name, eb.passed, b.N, ms(ps.pct(0.5)), ms(ps.pct(0.99)), ms(ps.cpu/time.Duration(b.N)), ps.allocs/uint64(b.N),
				ms(e.pct(0.5)), ms(e.pct(0.99)), ms(e.cpu/time.Duration(b.N)), e.allocs/uint64(b.N), float64(ps.cpu)/float64(e.cpu))
		})
	}
}

// reserveInFlight adds k pending pods of no job to the store and reserves
// each on a node, so they stay in the plugin's in-flight book.
func reserveInFlight(b *testing.B, pl *plugin.Plugin, store *statetest.MemStore, names []string, infos []fwk.NodeInfo, k int) {
	if k == 0 {
		return
	}
	pods := make([]*corev1.Pod, k)
	for i := range pods {
		pods[i] = statetest.RDMAPod(fmt.Sprintf("inflight-%d", i), nil, statetest.GPUResource(0))
	}
	store.Pods = append(store.Pods, pods...)
	store.Freeze()
	for i, p := range pods {
		cs := plugintest.NewCycleState()
		if _, _, st := plugintest.Cycle(pl, cs, p, infos); !st.IsSuccess() {
			b.Fatalf("%s: %v", p.Name, st)
		}
		if st := pl.Reserve(context.Background(), cs, p, names[i%len(names)]); !st.IsSuccess() {
			b.Fatalf("reserve %s: %v", p.Name, st)
		}
	}
	if got := pl.Decider.InFlight.Len(); got != k {
		b.Fatalf("%d pods in flight, want %d", got, k)
	}
}
