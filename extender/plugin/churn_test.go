package plugin

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	fwk "k8s.io/kube-scheduler/framework"
)

// Cycles run while nodes change under them (run with -race): one NIC goes
// down and up, a node goes and comes back (a new entry), another's RDMANode
// goes and comes back. Filter and Score run on many goroutines, as the
// scheduler runs them, and PreFilter starts a new cycle between rounds. Once
// the changes stop, the next cycle's verdicts and scores are those of a
// plugin that never saw the old facts: no node table, verdict memo or entry
// outlives what it was built from.
func TestCyclesWhileNodesChange(t *testing.T) {
	s := newFactsStore(world("172.16.11.1-172.16.11.100"))
	pl := newPlugin(t, s)
	pod := rdmaPod("a", nil)
	nodes := infos(s.MemStore, nil)
	ctx := context.Background()

	var stop atomic.Bool
	var churn sync.WaitGroup
	churn.Go(func() {
		up, down := s.RDMANodes["n1"].DeepCopy(), s.RDMANodes["n1"].DeepCopy()
		down.Status.NICs[0].LinkState = "down"
		n4, rn4, rn1 := s.Nodes["n4"], s.RDMANodes["n4"], s.RDMANodes["n1"]
		for i := 0; !stop.Load(); i++ {
			switch i % 4 {
			case 0:
				s.facts.SetRDMANode(down)
				s.facts.DeleteNode("n4")
			case 1:
				s.facts.SetRDMANode(up)
				s.facts.SetNode(n4)
				s.facts.SetRDMANode(rn4)
			case 2:
				s.facts.DeleteRDMANode("n1")
			case 3:
				s.facts.SetRDMANode(rn1)
			}
		}
	})
	for range 30 {
		cs := newCycleState()
		if _, st := pl.PreFilter(ctx, cs, pod, nodes); !st.IsSuccess() {
			t.Fatal(st)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for _, ni := range nodes {
					pl.Filter(ctx, cs, pod, ni)
					if _, st := pl.Score(ctx, cs, pod, ni); !st.IsSuccess() {
						t.Errorf("Score %s: %v", ni.Node().Name, st)
					}
				}
			})
		}
		wg.Wait()
	}
	stop.Store(true)
	churn.Wait()

	// The churn ended on a whole step: make the last state explicit.
	s.facts.SetRDMANode(s.RDMANodes["n1"])
	s.facts.SetNode(s.Nodes["n4"])
	s.facts.SetRDMANode(s.RDMANodes["n4"])
	fresh := newPlugin(t, newFactsStore(s.MemStore))
	for round := range 2 { // the second from the tables and memos the first left
		cs, want := newCycleState(), newCycleState()
		got, wantSt := filter(t, pl, cs, pod, nodes), filter(t, fresh, want, pod, nodes)
		for _, ni := range nodes {
			name := ni.Node().Name
			if got[name].Code() != wantSt[name].Code() || got[name].Message() != wantSt[name].Message() {
				t.Fatalf("round %d, %s after the changes: %v, a fresh plugin %v", round, name, got[name], wantSt[name])
			}
		}
		passed := []fwk.NodeInfo{}
		for _, ni := range nodes {
			if wantSt[ni.Node().Name].IsSuccess() {
				passed = append(passed, ni)
			}
		}
		if g, w := score(t, pl, cs, pod, passed), score(t, fresh, want, pod, passed); len(g) != len(w) || len(g) == 0 {
			t.Fatalf("round %d: scores %v, fresh %v", round, g, w)
		} else {
			for name := range w {
				if g[name] != w[name] {
					t.Fatalf("round %d, %s: score %d, a fresh plugin %d", round, name, g[name], w[name])
				}
			}
		}
	}
}
