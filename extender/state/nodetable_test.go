package state

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/state/statetest"
)

// followedStore is a MemStore whose nodes' facts and bound slots live in
// Facts and Slots books, as CacheStore's do, so a decider's node table
// follows them; the test changes them as informer events would.
type followedStore struct {
	*statetest.Cluster
	facts *Facts
	slots *Slots
}

func newFollowedStore(c *statetest.Cluster) *followedStore {
	s := &followedStore{Cluster: c, facts: NewFacts(), slots: NewSlots()}
	for _, rn := range c.RDMANodes {
		s.facts.SetRDMANode(rn)
	}
	for _, n := range c.Nodes {
		s.facts.SetNode(n)
	}
	for _, p := range c.Pods {
		s.slots.Set(p)
	}
	return s
}

func (s *followedStore) FillNodes(out []placement.NodeState) {
	s.facts.Fill(out)
	s.slots.Fill(out)
}
func (s *followedStore) NodeFacts(name string) *placement.NodeFacts { return s.facts.Get(name) }
func (s *followedStore) NodeRef(name string) *placement.NodeRef     { return s.facts.Ref(name) }
func (s *followedStore) SlotsSince(gen uint64, changed func(string, placement.Amounts)) (uint64, bool) {
	return s.slots.Since(gen, changed)
}

// setPod adds or changes a pod, as the pod informer's events would.
func (s *followedStore) setPod(p *corev1.Pod) {
	if !slices.Contains(s.Pods, p) {
		s.Pods = append(s.Pods, p)
	}
	s.slots.Set(p)
}

// changeRDMANode replaces name's RDMANode with a changed copy.
func (s *followedStore) changeRDMANode(name string, change func(*railnetv1.RDMANode)) {
	rn := s.RDMANodes[name].DeepCopy()
	change(rn)
	s.RDMANodes[name] = rn
	s.facts.SetRDMANode(rn)
}

// changeNode replaces name's Node with a changed copy.
func (s *followedStore) changeNode(name string, change func(*corev1.Node)) {
	n := s.Nodes[name].DeepCopy()
	change(n)
	s.Nodes[name] = n
	s.facts.SetNode(n)
}

// The decider's fast paths (the node table, kept verdicts and scores) give
// what deciding every request from scratch gives (Decider.Reference), for
// every answer, across changes of nodes, slots, pools, time, the pod's
// shape and the candidate list.
func TestFastPathsMatchReference(t *testing.T) {
	gpu := func(r int) corev1.ResourceName {
		return corev1.ResourceName(fmt.Sprintf("spidernet.io/shared_cx7_gpu%d", r))
	}
	c := statetest.NewCluster([]int{0, 1}, gpu, func(r int) *spiderv2beta1.SpiderIPPool {
		return statetest.Pool(fmt.Sprintf("gpu%d-net", r), fmt.Sprintf("10.%d.0.0/24", r), fmt.Sprintf("10.%d.0.1-10.%d.0.40", r, r))
	})
	var names []string
	for i := range 8 {
		name := fmt.Sprintf("n%d", i)
		names = append(names, name)
		c.AddNode(name, 2, map[string]string{placement.DefaultTopology.BlockKey: fmt.Sprint("block-", i/3),
			placement.DefaultTopology.SpineKey: "spine-0"})
	}
	s := newFollowedStore(c)
	now := time.Now()
	details := false
	decider := func(reference bool) *Decider {
		d := NewDecider(s, time.Minute, 30*time.Second, placement.DefaultTopology)
		d.InFlight = NewInFlight(30*time.Second, func() time.Time { return now })
		d.Options = func() placement.Options {
			o := placement.DefaultOptions(now)
			o.HeartbeatTTL, o.Details = time.Minute, details
			return o
		}
		d.Reference = reference
		return d
	}
	fast, ref := decider(false), decider(true)

	job := map[string]string{"railnet.io/job": "train"}
	pod := c.NewPod("p", job)
	bound := func(name, node string) *corev1.Pod {
		p := c.NewPod(name, job)
		p.Spec.NodeName = node
		return p
	}
	var worker *corev1.Pod
	steps := []struct {
		what string
		do   func()
	}{
		{"first request", func() {}},
		{"the same again (kept verdicts and scores)", func() {}},
		{"a pod of the job bound on n1: a peer, one slot of n1 in use", func() { worker = bound("w1", "n1"); s.setPod(worker) }},
		{"a second pod on n1: its slots are full", func() { s.setPod(bound("w2", "n1")) }},
		{"the first finished: a slot free again", func() {
			worker = worker.DeepCopy()
			worker.Status.Phase = corev1.PodSucceeded
			s.setPod(worker)
		}},
		{"n2's NIC eth1 down", func() {
			s.changeRDMANode("n2", func(rn *railnetv1.RDMANode) { rn.Status.NICs[1].LinkState = "down" })
		}},
		{"n3's heartbeat 50 s old", func() {
			s.changeRDMANode("n3", func(rn *railnetv1.RDMANode) {
				old := metav1.NewTime(now.Add(-50 * time.Second))
				rn.Status.HeartbeatTime = &old
			})
		}},
		{"20 s later: n3's heartbeat is stale", func() { now = now.Add(20 * time.Second) }},
		{"the clock steps back: fresh again", func() { now = now.Add(-20 * time.Second) }},
		{"n4's heartbeat 2 min in the future", func() {
			s.changeRDMANode("n4", func(rn *railnetv1.RDMANode) {
				f := metav1.NewTime(now.Add(2 * time.Minute))
				rn.Status.HeartbeatTime = &f
			})
		}},
		{"n5 deleted", func() { s.facts.DeleteNode("n5") }},
		{"n5 added again (a new entry)", func() { s.facts.SetNode(s.Nodes["n5"]) }},
		{"n6 moves to block-0", func() {
			s.changeNode("n6", func(n *corev1.Node) { n.Labels[placement.DefaultTopology.BlockKey] = "block-0" })
		}},
		{"n6's RDMANode deleted", func() { s.facts.DeleteRDMANode("n6") }},
		{"another candidate list: reordered, a subset and an unknown node", func() {
			names = []string{"n7", "ghost", "n0", "n1", "n3", "n2"}
		}},
		{"a list naming a node twice", func() { names = []string{"n0", "n7", "n0", "n1"} }},
		{"the whole list again", func() { names = []string{"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"} }},
		{"a pod of another shape: two of each resource", func() {
			pod = c.NewPod("q", job)
			pod.Spec.Containers[0].Resources.Limits[gpu(0)] = resource.MustParse("2")
		}},
		{"details asked for", func() { details = true }},
		{"no details again", func() { details = false }},
		{"pool gpu1-net nearly full", func() {
			for i := range 39 {
				ip := fmt.Sprintf("10.1.0.%d", i+1)
				s.Allocs = append(s.Allocs, &railnetv1.IPAllocation{ObjectMeta: metav1.ObjectMeta{Name: ip},
					Spec: railnetv1.IPAllocationSpec{Pool: "gpu1-net", IP: ip, PodUID: "other"}})
			}
		}},
		{"a pod passed for n7 alone: in flight there, the pool's last address promised", func() {
			single := c.NewPod("single", nil)
			s.Pods = append(s.Pods, single)
			for _, d := range []*Decider{fast, ref} {
				if res := d.Filter(single, []string{"n7"}); !slices.Equal(res.Passed, []string{"n7"}) {
					t.Fatalf("single on n7: %+v", res)
				}
			}
		}},
		{"the same again, with that pod in flight", func() {}},
		{"the pool has room again", func() { s.Allocs = s.Allocs[:0] }},
		{"31 s later: the pod in flight expired", func() { now = now.Add(31 * time.Second) }},
		{"the first pod again", func() { pod = c.NewPod("p", job) }},
		{"a list naming a node twice", func() { names = []string{"n0", "n7", "n0", "n1"} }},
		{"two pods bound on n0 (the same list)", func() { s.setPod(bound("z1", "n0")); s.setPod(bound("z2", "n0")) }},
		{"n8 listed before its Node is known, two pods bound there", func() {
			names = []string{"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"}
			c.AddNode("n8", 2, nil)
			s.setPod(bound("y1", "n8"))
			s.setPod(bound("y2", "n8"))
		}},
		{"n8's Node and RDMANode seen", func() { s.facts.SetRDMANode(c.RDMANodes["n8"]); s.facts.SetNode(c.Nodes["n8"]) }},
	}
	type answers struct {
		Passed []string
		scores []placement.HostScore
	}
	var held struct{ got, want answers }
	for i, st := range steps {
		st.do()
		want, got := ref.Filter(pod, names), fast.Filter(pod, names)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d (%s): filter\n got %+v\nwant %+v", i, st.what, got, want)
		}
		wantScores, gotScores := ref.Prioritize(pod, want.Passed), fast.Prioritize(pod, got.Passed)
		if !reflect.DeepEqual(gotScores, wantScores) {
			t.Fatalf("step %d (%s): prioritize\n got %v\nwant %v", i, st.what, gotScores, wantScores)
		}
		// A prioritize request that does not follow its filter request.
		every, wantEvery := fast.Prioritize(pod, names), ref.Prioritize(pod, names)
		if !reflect.DeepEqual(every, wantEvery) {
			t.Fatalf("step %d (%s): prioritize every node\n got %v\nwant %v", i, st.what, every, wantEvery)
		}

		t.Logf("step %d (%s): passed %v, failed %v, unresolvable %d, scores %v", i, st.what, got.Passed, got.Failed, len(got.Unresolvable), gotScores)
		// The answers are handed back (Recycle) as the handler does once
		// it has written them, a step late: answers not yet handed back
		// stay as they were while later requests fill recycled ones.
		if !reflect.DeepEqual(held.got, held.want) {
			t.Fatalf("step %d (%s): the last step's answers changed before they were handed back\n got %v\nwant %v", i, st.what, held.got, held.want)
		}
		fast.Recycle(held.got.Passed, held.got.scores)
		fast.Recycle(nil, every)
		held.got = answers{got.Passed, gotScores}
		held.want = answers{want.Passed, wantScores}
	}
}

// A prioritize request whose filter request's rows were rebuilt since (a
// filter request for another list came in between, on another
// connection) scores as from scratch.
func TestPrioritizeAfterTheTableChanged(t *testing.T) {
	c := statetest.NewCluster([]int{0}, statetest.GPUResource, func(int) *spiderv2beta1.SpiderIPPool {
		return statetest.Pool("gpu0-net", "10.0.0.0/24", "10.0.0.1-10.0.0.40")
	})
	names := []string{"n0", "n1", "n2"}
	for _, name := range names {
		c.AddNode(name, 4, nil)
	}
	s := newFollowedStore(c)
	now := time.Now()
	fast, ref := newDecider(s, &now), newDecider(s, &now)
	ref.Reference = true
	pod := c.NewPod("p", nil)
	passed := fast.Filter(pod, names).Passed
	// The other request's list is shorter: rows of this one are past its end.
	fast.table.filter(s, []string{"n2"}, nil, func([]placement.NodeState, func(int) *placement.VerdictMemo, []string) placement.Result {
		return placement.Result{}
	})
	ref.Filter(pod, names)
	if got, want := fast.Prioritize(pod, passed), ref.Prioritize(pod, passed); len(want) != 3 || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
