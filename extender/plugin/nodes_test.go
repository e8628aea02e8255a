package plugin

import (
	"context"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwk "k8s.io/kube-scheduler/framework"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/plugin/plugintest"
	"github.com/railnet/railnet/extender/state"
	"github.com/railnet/railnet/extender/state/statetest"
)

// factsStore is the world's store with the nodes' facts kept in a
// state.Facts, as the CacheStore keeps them: nodes change, go and come
// back while the plugin holds their entries. It counts the lookups by
// name.
type factsStore struct {
	*statetest.MemStore
	facts  *state.Facts
	byName atomic.Int64
}

func newFactsStore(s *statetest.MemStore) *factsStore {
	fs := &factsStore{MemStore: s, facts: state.NewFacts()}
	for _, n := range s.Nodes {
		fs.facts.SetNode(n)
	}
	for _, rn := range s.RDMANodes {
		fs.facts.SetRDMANode(rn)
	}
	return fs
}

func (s *factsStore) NodeFacts(name string) *placement.NodeFacts {
	s.byName.Add(1)
	return s.facts.Get(name)
}

func (s *factsStore) NodeRef(name string) *placement.NodeRef { return s.facts.Ref(name) }

// score runs PreScore and Score on the nodes.
func score(t *testing.T, pl *Plugin, cs fwk.CycleState, pod *corev1.Pod, nodes []fwk.NodeInfo) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	if st := pl.PreScore(ctx, cs, pod, nodes); !st.IsSuccess() {
		t.Fatalf("PreScore: %v", st)
	}
	out := map[string]int64{}
	for _, ni := range nodes {
		sc, st := pl.Score(ctx, cs, pod, ni)
		if !st.IsSuccess() {
			t.Fatalf("Score %s: %v", ni.Node().Name, st)
		}
		out[ni.Node().Name] = sc
	}
	return out
}

// Filter and Score find the nodes of the scheduler's list through their
// entries, not by name, and Score reads a node's facts as they are when it
// runs (as the extender's prioritize reads its cache): a NIC that moved
// next to a GPU after Filter scores the GPU affinity point, a node gone
// since Filter scores 0.
func TestScoreReadsTheNodesCurrentFacts(t *testing.T) {
	s := newFactsStore(world("172.16.11.1-172.16.11.100"))
	pl := newPlugin(t, s)
	pod := rdmaPod("a", nil)
	s.Pods = append(s.Pods, pod)
	cs := newCycleState()
	nodes := infos(s.MemStore, nil)
	got := filter(t, pl, cs, pod, nodes)
	if !got["n1"].IsSuccess() || !got["n4"].IsSuccess() {
		t.Fatalf("n1 %v, n4 %v", got["n1"], got["n4"])
	}
	feasible := []fwk.NodeInfo{nodes[0], nodes[3]} // n1, n4
	before := score(t, pl, cs, pod, feasible)

	near := s.RDMANodes["n1"].DeepCopy()
	near.Status.NICs[0].GPUDistance = railnetv1.DistancePIX
	s.facts.SetRDMANode(near)
	s.facts.DeleteNode("n4")
	after := score(t, pl, cs, pod, feasible)
	if after["n1"] != before["n1"]+scoreScale || before["n4"] == 0 || after["n4"] != 0 {
		t.Fatalf("scores before %v, after n1's NIC moved next to a GPU and n4 went %v: want n1 one point (scaled) more, n4 0", before, after)
	}
	// n4 is gone: Score asked for it by name once (it might have come back).
	if n := s.byName.Load(); n != 1 {
		t.Fatalf("%d lookups by name in Filter and Score, want 1 (n4 after it went)", n)
	}
}

// The node table is built again when the scheduler hands PreFilter another
// node list, and when a node's entry went while the store knows the node
// again (removed and added back); NodeInfos not in the list (preemption's
// copies) are looked up by name without upsetting the table.
func TestNodeTableFollowsTheNodes(t *testing.T) {
	s := newFactsStore(world("172.16.11.1-172.16.11.100"))
	pl := newPlugin(t, s)
	pod := rdmaPod("a", nil)
	nodes := infos(s.MemStore, nil)
	filterAll := func(nodes []fwk.NodeInfo) map[string]*fwk.Status {
		s.byName.Store(0)
		return filter(t, pl, newCycleState(), pod, nodes)
	}
	filterAll(nodes)
	first := pl.nodes.Load()
	if got := filterAll(nodes); !got["n1"].IsSuccess() || pl.nodes.Load() != first {
		t.Fatal("the same node list built the table again")
	}
	if n := s.byName.Load(); n != 0 {
		t.Fatalf("%d lookups by name for nodes the table holds", n)
	}

	// n1 removed and added back: its old entry is gone for good.
	n1 := s.Nodes["n1"]
	s.facts.DeleteNode("n1")
	s.facts.SetNode(n1)
	if got := filterAll(nodes); !got["n1"].IsSuccess() || s.byName.Load() != 1 {
		t.Fatalf("n1 back: %v after %d lookups by name, want success after 1", got["n1"], s.byName.Load())
	}
	if got := filterAll(nodes); pl.nodes.Load() == first || !got["n1"].IsSuccess() || s.byName.Load() != 0 {
		t.Fatalf("next cycle: table rebuilt %t, n1 %v, %d lookups by name; want a new table, success, 0",
			pl.nodes.Load() != first, got["n1"], s.byName.Load())
	}

	// A copy of n1's NodeInfo (what preemption filters) is found by name.
	rebuilt := pl.nodes.Load()
	cs := newCycleState()
	filter(t, pl, cs, pod, nodes)
	s.byName.Store(0)
	clone := plugintest.NodeInfo(n1, nil)
	if st := pl.Filter(context.Background(), cs, pod, clone); !st.IsSuccess() || s.byName.Load() != 1 || pl.nodes.Load() != rebuilt || rebuilt.stale.Load() {
		t.Fatalf("copy of n1: %v, %d lookups by name, stale %t", st, s.byName.Load(), rebuilt.stale.Load())
	}

	// A node added: the scheduler's list changes.
	c := &statetest.Cluster{MemStore: s.MemStore, Rails: []int{1}, Resources: []corev1.ResourceName{gpu1},
		Heartbeat: *s.RDMANodes["n1"].Status.HeartbeatTime}
	n5, rn5 := c.AddNode("n5", 2, nil)
	s.facts.SetNode(n5)
	s.facts.SetRDMANode(rn5)
	grown := infos(s.MemStore, nil)
	if got := filterAll(grown); !got["n5"].IsSuccess() || pl.nodes.Load() == rebuilt || s.byName.Load() != 0 {
		t.Fatalf("n5 added: %v, table rebuilt %t, %d lookups by name", got["n5"], pl.nodes.Load() != rebuilt, s.byName.Load())
	}
}

// A pod that asks for no rails skips Filter and Score, builds no node
// table, looks no node up, and its cycle allocates three small objects:
// the record of the skipped cycle and the two Skip statuses.
func TestPodAskingNothingCostsNothing(t *testing.T) {
	s := newFactsStore(world("172.16.11.1-172.16.11.100"))
	pl := newPlugin(t, s)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "nginx", UID: "u1"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	nodes := infos(s.MemStore, nil)
	ctx := context.Background()
	cycle := func() {
		cs := newCycleState()
		if _, st := pl.PreFilter(ctx, cs, pod, nodes); !st.IsSkip() {
			t.Fatalf("PreFilter: %v, want Skip", st)
		}
		if st := pl.PreScore(ctx, cs, pod, nodes); !st.IsSkip() {
			t.Fatalf("PreScore: %v, want Skip", st)
		}
		if st := pl.Reserve(ctx, cs, pod, "n1"); !st.IsSuccess() {
			t.Fatalf("Reserve: %v", st)
		}
		pl.Unreserve(ctx, cs, pod, "n1")
	}
	cycle()
	cs := newCycleState()
	if allocs := testing.AllocsPerRun(100, func() {
		pl.PreFilter(ctx, cs, pod, nodes)
		pl.PreScore(ctx, cs, pod, nodes)
		pl.Reserve(ctx, cs, pod, "n1")
	}); allocs > 3 {
		t.Fatalf("%v allocations per cycle of a pod asking nothing, want at most 3", allocs)
	}
	if pl.nodes.Load() != nil || s.byName.Load() != 0 || pl.Decider.InFlight.Len() != 0 {
		t.Fatalf("table built %t, %d lookups by name, %d pods in flight", pl.nodes.Load() != nil, s.byName.Load(), pl.Decider.InFlight.Len())
	}
}

// Until the scheduler's Nodes and Pods have reached the plugin (its
// informers start after the plugins are built), PreFilter waits: a node
// would otherwise be refused as unknown, or its shares counted as free. A pod that asks nothing does not wait.
func TestPreFilterWaitsForTheSchedulersNodes(t *testing.T) {
	s := world("172.16.11.1-172.16.11.100")
	pl := newPlugin(t, s)
	var ready atomic.Bool
	var asked atomic.Int64
	pl.sourcesSynced = func() bool { asked.Add(1); return ready.Load() }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	plain := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "nginx"}}
	if _, st := pl.PreFilter(cancelled, newCycleState(), plain, infos(s, nil)); !st.IsSkip() {
		t.Fatalf("pod asking nothing before the Nodes arrived: %v, want Skip", st)
	}
	pod := rdmaPod("a", nil)
	_, st := pl.PreFilter(cancelled, newCycleState(), pod, infos(s, nil))
	if st.Code() != fwk.Error || !strings.Contains(st.Message(), "RailnetPlacement: the scheduler's Nodes and Pods have not reached the plugin yet") {
		t.Fatalf("PreFilter before the Nodes arrived, its context ended: %v", st)
	}
	ready.Store(true)
	got := filter(t, pl, newCycleState(), pod, infos(s, nil))
	if !got["n1"].IsSuccess() {
		t.Fatalf("n1 once the Nodes arrived: %v", got["n1"])
	}
	n := asked.Load()
	filter(t, pl, newCycleState(), pod, infos(s, nil))
	if asked.Load() != n {
		t.Fatal("PreFilter asked again after the Nodes had arrived")
	}
}

// Score remembers a node's score parts in its slot of the node table by
// the NodeInfo's generation: its scores are those of a plugin that has
// remembered nothing yet, across a change of a node's use (a new
// generation), of its facts and of the pod's shape. In a pod group's
// cycle the scheduler adds the group's pods to its snapshot's NodeInfos
// and keeps their generations: Score remembers nothing there. Each step
// changes the score of the node it touches, so a memo that missed the
// change would show.
func TestScoreRemembersByGeneration(t *testing.T) {
	s := newFactsStore(world("172.16.11.1-172.16.11.100"))
	pl := newPlugin(t, s)
	nodes := infos(s.MemStore, nil)
	feasible := []fwk.NodeInfo{nodes[0], nodes[3]} // n1, n4
	one := rdmaPod("one", nil)
	two := rdmaPod("two", nil)
	two.Spec.Containers[0].Resources.Limits[gpu1] = resource.MustParse("2")
	s.Pods = append(s.Pods, one, two)
	var last map[string]int64
	steps := []struct {
		name     string
		pod      *corev1.Pod
		podGroup bool
		change   func()
		changed  string // the node whose score the change moves
	}{
		{name: "first", pod: one},
		{name: "nothing changed", pod: one},
		{name: "n1's use changed (new generation)", pod: one, changed: "n1",
			change: func() { plugintest.SetUsed(nodes[0], gpu1, 1, false) }},
		{name: "n4's NIC moved next to a GPU (new facts)", pod: one, changed: "n4", change: func() {
			near := s.RDMANodes["n4"].DeepCopy()
			near.Status.NICs[0].GPUDistance = railnetv1.DistancePIX
			s.facts.SetRDMANode(near)
		}},
		{name: "a pod group's cycle: n1's use changed, same generation", pod: one, podGroup: true, changed: "n1",
			change: func() { plugintest.SetUsed(nodes[0], gpu1, 0, true) }},
		{name: "pod shape changed", pod: two, changed: "n4"},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		cs := newCycleState()
		cs.PodGroup = st.podGroup
		filter(t, pl, cs, st.pod, nodes)
		got := score(t, pl, cs, st.pod, feasible)
		fresh := newPlugin(t, s)
		fcs := newCycleState()
		filter(t, fresh, fcs, st.pod, nodes)
		full := score(t, fresh, fcs, st.pod, feasible)
		if !maps.Equal(got, full) {
			t.Fatalf("%s: scores %v, a plugin that remembered nothing %v", st.name, got, full)
		}
		if c := pl.last.Load().c; !st.podGroup {
			for _, ni := range feasible {
				f, slot := pl.facts(c.nodes, ni)
				if slot == nil {
					t.Fatalf("%s: %s has no slot in the node table", st.name, ni.Node().Name)
				}
				if _, ok := c.scorer.ScoreRemembered(&slot.score, f, placement.UseGen(ni.GetGeneration())); !ok {
					t.Fatalf("%s: %s's score is not remembered", st.name, ni.Node().Name)
				}
			}
		}
		if st.changed != "" && full[st.changed] == last[st.changed] {
			t.Fatalf("%s: %s's score stayed %d: the step tests nothing", st.name, st.changed, full[st.changed])
		}
		last = full
	}
}

// Score runs on the scheduler's goroutines, several on one node's slot;
// a remembered score costs no allocation.
func TestScoreConcurrently(t *testing.T) {
	s := newFactsStore(world("172.16.11.1-172.16.11.100"))
	pl := newPlugin(t, s)
	pod := rdmaPod("a", nil)
	nodes := infos(s.MemStore, map[string]int64{"n1": 1})
	feasible := []fwk.NodeInfo{nodes[0], nodes[3]} // n1, n4
	cs := newCycleState()
	filter(t, pl, cs, pod, nodes)
	fresh := newPlugin(t, s)
	fcs := newCycleState()
	filter(t, fresh, fcs, pod, nodes)
	want := score(t, fresh, fcs, pod, feasible)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for _, ni := range feasible {
					if got, st := pl.Score(context.Background(), cs, pod, ni); got != want[ni.Node().Name] || !st.IsSuccess() {
						t.Errorf("%s: %d %v, alone %d", ni.Node().Name, got, st, want[ni.Node().Name])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if allocs := testing.AllocsPerRun(100, func() {
		for _, ni := range feasible {
			_, _ = pl.Score(context.Background(), cs, pod, ni)
		}
	}); allocs != 0 {
		t.Fatalf("%.0f allocations scoring remembered nodes, want 0", allocs)
	}
}

// Filter remembers a node's verdict (a pass or a refusal) in its slot of
// the node table: its verdicts are those of a plugin that has remembered nothing yet, as a
// node's NIC goes down and comes back (new facts) and as the pod's shape
// changes.
func TestFilterRemembersPasses(t *testing.T) {
	s := newFactsStore(world("172.16.11.1-172.16.11.100"))
	pl := newPlugin(t, s)
	nodes := infos(s.MemStore, nil)
	one := rdmaPod("one", nil)
	other := rdmaPod("other", nil)
	other.Spec.Containers[0].Resources.Limits[gpu1] = resource.MustParse("3") // more than a node has
	s.Pods = append(s.Pods, one, other)
	setLink := func(state string) func() {
		return func() {
			rn := s.RDMANodes["n1"].DeepCopy()
			rn.Status.NICs[0].LinkState = state
			s.facts.SetRDMANode(rn)
		}
	}
	for _, st := range []struct {
		name   string
		pod    *corev1.Pod
		change func()
		n1     bool // n1 passes
	}{
		{name: "first", pod: one, n1: true},
		{name: "nothing changed", pod: one, n1: true},
		{name: "n1's NIC down", pod: one, change: setLink("down")},
		{name: "n1's NIC still down", pod: one},
		{name: "n1's NIC up again", pod: one, change: setLink("up"), n1: true},
		{name: "pod shape changed", pod: other},
	} {
		if st.change != nil {
			st.change()
		}
		got := filter(t, pl, newCycleState(), st.pod, nodes)
		full := filter(t, newPlugin(t, s), newCycleState(), st.pod, nodes)
		for name, want := range full {
			if got[name].Code() != want.Code() || got[name].Message() != want.Message() {
				t.Fatalf("%s: %s %v, a plugin that remembered nothing %v", st.name, name, got[name], want)
			}
		}
		if got["n1"].IsSuccess() != st.n1 {
			t.Fatalf("%s: n1 %v, want passed %t", st.name, got["n1"], st.n1)
		}
	}
}

// PreFilter returns Skip — the framework then calls no Filter of the
// plugin — only when Filter would pass every node of the list, and does
// whenever it would and verdicts are remembered; Score still runs. Steps
// change one node's NIC and the pod's shape, each checked against a
// plugin that remembered nothing; then the share of nodes scored changes.
func TestPreFilterSkipsFilterWhenEveryNodePasses(t *testing.T) {
	s := newFactsStore(world("172.16.11.1-172.16.11.100"))
	pl := newPlugin(t, s)
	all := infos(s.MemStore, nil)
	nodes := []fwk.NodeInfo{all[0], all[1], all[3]} // n1, n2 (NIC down), n4
	one := rdmaPod("one", nil)
	big := rdmaPod("big", nil)
	big.Spec.Containers[0].Resources.Limits[gpu1] = resource.MustParse("3") // more than a node has
	s.Pods = append(s.Pods, one, big)
	setLink := func(node, state string) func() {
		return func() {
			rn := s.RDMANodes[node].DeepCopy()
			rn.Status.NICs[0].LinkState = state
			s.facts.SetRDMANode(rn)
		}
	}
	ctx := context.Background()
	for _, st := range []struct {
		name   string
		pod    *corev1.Pod
		change func()
		skip   bool
	}{
		{name: "n2's NIC down", pod: one},
		{name: "n2's NIC up", pod: one, change: setLink("n2", "up"), skip: true},
		{name: "nothing changed", pod: one, skip: true},
		{name: "a pod no node fits", pod: big},
		{name: "n4's NIC down (after n1, n2 pass)", pod: one, change: setLink("n4", "down")},
		{name: "n4's NIC still down", pod: one},
		{name: "n1's NIC down too", pod: one, change: setLink("n1", "down")},
		{name: "n4's NIC up", pod: one, change: setLink("n4", "up")},
		{name: "n1's NIC up", pod: one, change: setLink("n1", "up"), skip: true},
	} {
		if st.change != nil {
			st.change()
		}
		full := filter(t, newPlugin(t, s), newCycleState(), st.pod, nodes)
		allPass := true
		for _, v := range full {
			allPass = allPass && v.IsSuccess()
		}
		if allPass != st.skip {
			t.Fatalf("%s: a plugin that remembered nothing passes every node: %t, the step says %t", st.name, allPass, st.skip)
		}
		cs := newCycleState()
		_, pre := pl.PreFilter(ctx, cs, st.pod, nodes)
		if pre.IsSkip() != st.skip || !pre.IsSkip() && !pre.IsSuccess() {
			t.Fatalf("%s: PreFilter %v, want Skip %t", st.name, pre, st.skip)
		}
		for _, ni := range nodes { // what Filter would say (the framework does not ask when skipped)
			got, want := pl.Filter(ctx, cs, st.pod, ni), full[ni.Node().Name]
			if got.Code() != want.Code() || got.Message() != want.Message() {
				t.Fatalf("%s: %s %v, a plugin that remembered nothing %v", st.name, ni.Node().Name, got, want)
			}
		}
		if st.skip {
			if sc := score(t, pl, cs, st.pod, nodes); sc["n1"] == 0 {
				t.Fatalf("%s: scores %v after PreFilter's Skip, want Score to run", st.name, sc)
			}
		}
	}
	// When the scheduler scores under a quarter of the nodes (its
	// percentage of nodes to score), PreFilter reads the nodes no more;
	// once it scores most again, it does.
	for _, scored := range []struct {
		nodes []fwk.NodeInfo
		skip  bool
	}{{nodes: nodes[:0], skip: false}, {nodes: nodes, skip: true}} {
		cs := newCycleState()
		pl.PreFilter(ctx, cs, one, nodes)
		if st := pl.PreScore(ctx, cs, one, scored.nodes); !st.IsSuccess() {
			t.Fatalf("PreScore: %v", st)
		}
		if _, pre := pl.PreFilter(ctx, newCycleState(), one, nodes); pre.IsSkip() != scored.skip || !pre.IsSkip() && !pre.IsSuccess() {
			t.Fatalf("PreFilter after %d of %d nodes scored: %v, want Skip %t", len(scored.nodes), len(nodes), pre, scored.skip)
		}
	}
}
