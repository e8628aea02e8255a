package placement

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestFilter(t *testing.T) {
	opts := DefaultOptions(now)
	withStatus := func(name string, mut func(*railnetv1.RDMANodeStatus)) fixture {
		n := healthy(name)
		n.rdma = rdmaNode(name, mut)
		return n
	}
	disabled := true
	tests := []struct {
		name      string
		pod       Pod
		node      fixture
		pools     map[string]*PoolRoom
		wantPass  bool
		wantRetry string // substring of a FailedNodes reason
		wantUnres string // substring of a FailedAndUnresolvableNodes reason
	}{
		{name: "healthy node passes", pod: twoRailPod(), node: healthy("n1"), wantPass: true},
		{name: "pod without rails passes an unknown node", pod: Pod{Ref: "a/b"}, node: fixture{name: "ghost"}, wantPass: true},
		{name: "unknown node", pod: twoRailPod(), node: fixture{name: "ghost"},
			wantUnres: "this node is unknown to the railnet extender (deleted, or its cache has not seen it yet)"},
		{name: "no RDMANode", pod: twoRailPod(), node: fixture{name: "n1", node: node("n1", nil)},
			wantUnres: "this node has no RDMANode: the railnet node agent has not reported its RDMA NICs; run the agent on the node"},
		{name: "no heartbeat", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1.RDMANodeStatus) { s.HeartbeatTime = nil }),
			wantUnres: "this node's RDMANode has no heartbeat: the railnet node agent has not confirmed its inventory; check the agent on the node"},
		{name: "stale heartbeat", pod: twoRailPod(),
			node: withStatus("n1", func(s *railnetv1.RDMANodeStatus) {
				hb := metav1.NewTime(now.Add(-5 * time.Minute))
				s.HeartbeatTime = &hb
			}),
			wantUnres: "this node's RDMANode is stale: no heartbeat for over 2m0s; check the railnet node agent on the node"},
		{name: "heartbeat from the future", pod: twoRailPod(),
			node: withStatus("n1", func(s *railnetv1.RDMANodeStatus) {
				hb := metav1.NewTime(now.Add(time.Hour))
				s.HeartbeatTime = &hb
			}),
			wantUnres: "this node's RDMANode heartbeat is over 2m0s in the future: the node's clock is ahead; fix its time (NTP) or the agent's"},
		{name: "clock skew within the TTL", pod: twoRailPod(), wantPass: true,
			node: withStatus("n1", func(s *railnetv1.RDMANodeStatus) {
				hb := metav1.NewTime(now.Add(30 * time.Second))
				s.HeartbeatTime = &hb
			})},
		{name: "netns exclusive", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1.RDMANodeStatus) { s.NetnsMode = railnetv1.NetnsModeExclusive }),
			wantUnres: "this node's RDMA netns mode is exclusive; macvlan RDMA needs shared: run `rdma system set netns shared` on the node"},
		{name: "rail NIC missing", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1.RDMANodeStatus) { s.NICs = s.NICs[:1] }),
			wantUnres: "rail spiderpool/gpu2-macvlan: NIC eth2 not found in this node's RDMANode; fix the network's master or the node's cabling"},
		{name: "link down", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1.RDMANodeStatus) { s.NICs[0].LinkState = "down" }),
			wantUnres: "rail spiderpool/gpu1-macvlan: NIC eth1 is down on this node (link down); bring the link up or drain the node"},
		{name: "RDMA port down", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1.RDMANodeStatus) { s.NICs[1].PortState = "DOWN" }),
			wantUnres: "rail spiderpool/gpu2-macvlan: NIC eth2 is down on this node (RDMA port DOWN); bring the link up or drain the node"},
		{name: "rail label down", pod: twoRailPod(),
			node:      fixture{name: "n1", node: node("n1", map[string]string{"railnet.io/rail.1": "down"}), rdma: rdmaNode("n1")},
			wantUnres: "rail spiderpool/gpu2-macvlan: NIC eth2 is down on this node (node label railnet.io/rail.1=down); bring the link up or drain the node"},
		{name: "GID table full", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1.RDMANodeStatus) { s.NICs[0].GIDTableUsed = 253 }),
			wantUnres: "rail spiderpool/gpu1-macvlan: the GID table of NIC eth1's RDMA port is full on this node (4 free entries needed); remove pods using that NIC or pick another node"},
		{name: "GID table with room", pod: twoRailPod(),
			node: withStatus("n1", func(s *railnetv1.RDMANodeStatus) { s.NICs[0].GIDTableUsed = 252 }), wantPass: true},
		{name: "GID table with room for a NIC the agent saw without IPv6", pod: twoRailPod(),
			node: withStatus("n1", func(s *railnetv1.RDMANodeStatus) {
				s.NICs[0].GIDTableUsed, s.NICs[0].GIDsPerAddress, s.NICs[0].GIDsPerInterface = 254, 2, 2
			}), wantPass: true},
		{name: "pool full", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": newPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.2"), slices.Values([]string{"172.16.11.1", "172.16.11.2"}), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "rail spiderpool/gpu1-macvlan: no address for this node: SpiderIPPool gpu1-net11 has no free address (2 usable, 2 allocated, 0 promised to pods being scheduled); add addresses to spec.ips or free some"},
		{name: "pool full through in-flight pods", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": newPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.2"), slices.Values([]string{"172.16.11.1"}), 1),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "SpiderIPPool gpu1-net11 has no free address (2 usable, 1 allocated, 1 promised to pods being scheduled)"},
		{name: "pool missing", pod: twoRailPod(), node: healthy("n1"),
			pools:     map[string]*PoolRoom{"gpu1-net11": roomyPools()["gpu1-net11"]},
			wantUnres: "rail spiderpool/gpu2-macvlan: no address for this node: SpiderIPPool gpu2-net12 does not exist; create it or fix the network's ippools"},
		{name: "pool disabled", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": newPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.9", func(p *spiderv2beta1.SpiderIPPool) { p.Spec.Disable = &disabled }), slices.Values([]string(nil)), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "SpiderIPPool gpu1-net11 is disabled (spec.disable); enable it or name another pool"},
		{name: "pool for other nodes by name", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": newPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.9", func(p *spiderv2beta1.SpiderIPPool) { p.Spec.NodeName = []string{"n2", "n3"} }), slices.Values([]string(nil)), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "SpiderIPPool gpu1-net11 serves only nodes n2,n3 (spec.nodeName), not this one; add the node or name another pool"},
		{name: "pool for other nodes by affinity", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": newPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.9", func(p *spiderv2beta1.SpiderIPPool) {
					p.Spec.NodeAffinity = &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "r7"}}
				}), slices.Values([]string(nil)), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "SpiderIPPool gpu1-net11 serves only nodes matching rack=r7 (spec.nodeAffinity), not this one; label the node or name another pool"},
		{name: "pool affinity matches", pod: twoRailPod(),
			node: fixture{name: "n1", node: node("n1", map[string]string{"rack": "r7"}), rdma: rdmaNode("n1")},
			pools: map[string]*PoolRoom{
				"gpu1-net11": newPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.9", func(p *spiderv2beta1.SpiderIPPool) {
					p.Spec.NodeAffinity = &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "r7"}}
				}), slices.Values([]string(nil)), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantPass: true},
		{name: "second pool of a family has room", node: healthy("n1"),
			pod: func() Pod {
				p := twoRailPod()
				p.Rails[0].PoolsV4 = []string{"full", "gpu1-net11"}
				return p
			}(),
			pools: func() map[string]*PoolRoom {
				m := roomyPools()
				m["full"] = newPoolRoom(pool("full", "172.16.11.1"), slices.Values([]string{"172.16.11.1"}), 0)
				return m
			}(),
			wantPass: true},
		{name: "slots all in use is retryable", pod: twoRailPod(),
			node: func() fixture {
				n := healthy("n1")
				n.bound = map[corev1.ResourceName]int64{res1: 98}
				n.inflight = map[corev1.ResourceName]int64{res1: 2}
				return n
			}(),
			wantRetry: "RDMA resource spidernet.io/shared_cx5_gpu1: too few free slots on this node for the pod's 1; wait for pods to finish or raise rdmaHcaMax"},
		{name: "node advertises no resource", pod: twoRailPod(),
			node: func() fixture {
				n := healthy("n1")
				delete(n.node.Status.Allocatable, res2)
				return n
			}(),
			wantUnres: "this node advertises no spidernet.io/shared_cx5_gpu2: the RDMA device plugin does not serve it there; check the node agent's device plugin config"},
		{name: "down rail and full slots: unresolvable wins and says both", pod: twoRailPod(),
			node: func() fixture {
				n := withStatus("n1", func(s *railnetv1.RDMANodeStatus) { s.NICs[0].LinkState = "down" })
				n.bound = map[corev1.ResourceName]int64{res2: 100}
				return n
			}(),
			wantUnres: "rail spiderpool/gpu1-macvlan: NIC eth1 is down on this node (link down); bring the link up or drain the node; RDMA resource spidernet.io/shared_cx5_gpu2: too few free slots on this node for the pod's 1; wait for pods to finish or raise rdmaHcaMax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pools := tt.pools
			if pools == nil {
				pools = roomyPools()
			}
			st := tt.node.state()
			res := Filter(tt.pod, []NodeState{st}, pools, opts)
			name := tt.node.name
			if len(tt.pod.Rails) > 0 {
				// A NodeChecker (the plugin's Filter) agrees, also from the
				// node's memo of this shape, which Filter has just left.
				nc := NewNodeChecker(tt.pod, pools, opts)
				for i := range 2 {
					reason, unres := nc.Check(&st)
					if want := res.Unresolvable[name] + res.Failed[name]; reason != want || unres != (res.Unresolvable[name] != "") {
						t.Fatalf("NodeChecker, call %d: %q (unresolvable %t), Filter %+v", i, reason, unres, res)
					}
				}
			}
			passed := len(res.Passed) == 1 && res.Passed[0] == name
			if passed != tt.wantPass {
				t.Fatalf("passed=%v, want %v; result %+v", passed, tt.wantPass, res)
			}
			if got := res.Failed[name]; !strings.Contains(got, tt.wantRetry) || (tt.wantRetry == "") != (got == "") {
				t.Fatalf("FailedNodes reason %q, want it to contain %q", got, tt.wantRetry)
			}
			if got := res.Unresolvable[name]; !strings.Contains(got, tt.wantUnres) || (tt.wantUnres == "") != (got == "") {
				t.Fatalf("FailedAndUnresolvableNodes reason %q, want it to contain %q", got, tt.wantUnres)
			}
		})
	}
}

func TestFilterKeepsOrderAndNeverPicksOne(t *testing.T) {
	down := healthy("c")
	down.rdma.Status.NICs[0].LinkState = "down"
	nodes := states(healthy("b"), healthy("a"), down, healthy("d"))
	res := Filter(twoRailPod(), nodes, roomyPools(), DefaultOptions(now))
	if want := []string{"b", "a", "d"}; !reflect.DeepEqual(res.Passed, want) {
		t.Fatalf("passed %v, want %v", res.Passed, want)
	}
	if len(res.Unresolvable) != 1 || res.Unresolvable["c"] == "" {
		t.Fatalf("unresolvable %v, want only c", res.Unresolvable)
	}
}

func TestFailAll(t *testing.T) {
	res := FailAll([]string{"a", "b"}, "why")
	if len(res.Passed) != 0 || res.Unresolvable["a"] != "why" || res.Unresolvable["b"] != "why" {
		t.Fatalf("%+v", res)
	}
}

// Reasons do not name the node, so kube-scheduler folds a refusal of many
// nodes into one line per cause with a count; what differs per node goes to
// Details (the extender's log) and Classes (its metrics).
func TestFilterReasonsFoldAcrossNodes(t *testing.T) {
	rack := &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "r7"}}
	pools := roomyPools()
	pools["gpu2-net12"] = newPoolRoom(pool("gpu2-net12", "172.16.12.1-172.16.12.200", func(p *spiderv2beta1.SpiderIPPool) {
		p.Spec.NodeAffinity = rack
	}), slices.Values([]string(nil)), 0)
	var fs []fixture
	for i := range 300 {
		f := healthy(fmt.Sprintf("gpu-%03d", i))
		f.node.Labels = map[string]string{"rack": "r7"}
		switch i % 3 {
		case 0: // NIC down, in a different way on each node
			f.rdma.Status.NICs[0].LinkState = "down"
			f.rdma.Status.NICs[0].RDMADevice = fmt.Sprintf("mlx5_%d", i)
		case 1: // outside the pool's rack
			f.node.Labels = map[string]string{"rack": fmt.Sprintf("x%d", i)}
		}
		fs = append(fs, f)
	}
	opts := DefaultOptions(now)
	opts.Details = true
	res := Filter(twoRailPod(), states(fs...), pools, opts)
	count := map[string]int{}
	for name, reason := range res.Unresolvable {
		if strings.Contains(reason, name) {
			t.Fatalf("reason for %s names the node: %q", name, reason)
		}
		count[reason]++
	}
	want := map[string]int{
		"rail spiderpool/gpu1-macvlan: NIC eth1 is down on this node (link down); bring the link up or drain the node":                                                                              100,
		"rail spiderpool/gpu2-macvlan: no address for this node: SpiderIPPool gpu2-net12 serves only nodes matching rack=r7 (spec.nodeAffinity), not this one; label the node or name another pool": 100,
	}
	if !reflect.DeepEqual(count, want) {
		t.Fatalf("reasons by count %v, want %v", count, want)
	}
	if len(res.Passed) != 100 || len(res.Failed) != 0 {
		t.Fatalf("passed %d failed %d, want 100 and 0", len(res.Passed), len(res.Failed))
	}
	if wantC := map[Class]int{ClassNICDown: 100, ClassPool: 100}; !reflect.DeepEqual(res.Classes, wantC) {
		t.Fatalf("classes %v, want %v", res.Classes, wantC)
	}
	if got := res.Details["gpu-003"]; got != "NIC eth1: link down, RDMA mlx5_3 port 1 ACTIVE" {
		t.Fatalf("details of gpu-003 %q", got)
	}
	if got := Filter(twoRailPod(), states(fs...), pools, DefaultOptions(now)); got.Details != nil {
		t.Fatalf("details without Options.Details: %v", got.Details)
	}
}

// Details name what the reasons leave out.
func TestFilterDetails(t *testing.T) {
	opts := DefaultOptions(now)
	opts.Details = true
	stale := healthy("n1")
	hb := metav1.NewTime(now.Add(-5 * time.Minute))
	stale.rdma.Status.HeartbeatTime = &hb
	missing := healthy("n2")
	missing.rdma.Status.NICs = missing.rdma.Status.NICs[:1]
	gid := healthy("n3")
	gid.rdma.Status.NICs[0].GIDTableUsed = 255
	slots := healthy("n4")
	slots.bound = map[corev1.ResourceName]int64{res1: 98}
	slots.inflight = map[corev1.ResourceName]int64{res1: 2}
	res := Filter(twoRailPod(), states(stale, missing, gid, slots), roomyPools(), opts)
	for node, want := range map[string]string{
		"n1": "last heartbeat 5m0s ago",
		"n2": "RDMANode lists eth1",
		"n3": "GID table of mlx5_1 port 1 (NIC eth1): 255 of 256 entries used",
		"n4": "spidernet.io/shared_cx5_gpu1: 100 of 100 slots in use (98 by bound pods, 2 by pods being scheduled)",
	} {
		if got := res.Details[node]; got != want {
			t.Errorf("details of %s %q, want %q", node, got, want)
		}
	}
	if want := (map[Class]int{ClassHeartbeat: 1, ClassNICMissing: 1, ClassGIDFull: 1, ClassSlots: 1}); !reflect.DeepEqual(res.Classes, want) {
		t.Errorf("classes %v, want %v", res.Classes, want)
	}
}

// A node remembers its verdict for the last pod shape; pods of another
// shape, and the same shape after the node changes, are decided anew.
func TestFilterMemoFollowsShapeAndFacts(t *testing.T) {
	down := healthy("n1")
	down.rdma.Status.NICs[0].LinkState = "down" // eth1, rail gpu1
	down.rdma.Status.NICs[0].GPUDistance = railnetv1.DistanceSYS
	nodes := states(down)
	both := twoRailPod()
	second := twoRailPod()
	second.Rails = second.Rails[1:]
	delete(second.Requests, res1)
	opts := DefaultOptions(now)
	for i, tc := range []struct {
		pod  Pod
		pass bool
	}{{both, false}, {second, true}, {both, false}, {second, true}} {
		// The node's memo holds the verdict for the other shape here.
		if reason, _ := NewNodeChecker(tc.pod, roomyPools(), opts).Check(&nodes[0]); (reason == "") != tc.pass {
			t.Fatalf("call %d: NodeChecker says %q, want pass %v", i, reason, tc.pass)
		}
		res := Filter(tc.pod, nodes, roomyPools(), opts)
		if (len(res.Passed) == 1) != tc.pass {
			t.Fatalf("call %d: passed %v, want %v: %+v", i, res.Passed, tc.pass, res)
		}
		if got := Score(tc.pod, nodes, nil, DefaultTopology); (got[0].Score == 1) != tc.pass {
			t.Fatalf("call %d: score %d (GPU affinity only when every NIC of the pod is near)", i, got[0].Score)
		}
	}
	// The node's facts change (an RDMANode event): new facts, new verdict.
	up := healthy("n1")
	if res := Filter(both, states(up), roomyPools(), opts); len(res.Passed) != 1 {
		t.Fatalf("after the NIC came up: %+v", res)
	}
	// Same shape, more slots wanted than the node advertises.
	big := twoRailPod()
	big.Requests[res1] = 101
	if res := Filter(big, nodes[:0:0], roomyPools(), opts); len(res.Passed) != 0 {
		t.Fatalf("%+v", res)
	}
	if res := Filter(big, states(up), roomyPools(), opts); res.Failed["n1"] == "" {
		t.Fatalf("101 of 100 slots passed: %+v", res)
	}
}

// A node's memoised verdict never outlives its heartbeat: the node that
// passed a NodeChecker is refused by a later one once its heartbeat is too
// old, or too far ahead of a clock set back.
func TestNodeCheckerChecksTheHeartbeatEveryTime(t *testing.T) {
	n := healthy("n1").state()
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{now, ""},
		{now, ""}, // from the memo
		{now.Add(5 * time.Minute), "this node's RDMANode is stale: no heartbeat for over 2m0s; check the railnet node agent on the node"},
		{now.Add(-time.Hour), "this node's RDMANode heartbeat is over 2m0s in the future: the node's clock is ahead; fix its time (NTP) or the agent's"},
		{now, ""},
	} {
		reason, _ := NewNodeChecker(twoRailPod(), roomyPools(), DefaultOptions(tc.at)).Check(&n)
		if reason != tc.want {
			t.Fatalf("at %s: %q, want %q", tc.at, reason, tc.want)
		}
	}
}

// A VerdictMemo gives Check's verdict only while it holds: each step
// changes one thing Check reads — the time against the heartbeat, the
// node's facts, the pod's shape, the pools, the slots in use — and the
// memo must agree with Check at every step, from the memo where it holds
// the verdict (a refusal as well as a pass).
func TestVerdictMemo(t *testing.T) {
	facts := NewNodeFacts(healthy("n1").node, healthy("n1").rdma)
	down := healthy("n1")
	down.rdma.Status.NICs[0].LinkState = "down"
	downFacts := NewNodeFacts(down.node, down.rdma)
	big := twoRailPod()
	big.Requests = map[corev1.ResourceName]int64{res1: 101, res2: 1}
	fullPools := roomyPools()
	fullPools["gpu1-net11"] = newPoolRoom(pool("gpu1-net11", "172.16.11.1"), slices.Values([]string{"172.16.11.1"}), 0)
	busy := AmountsOf(map[corev1.ResourceName]int64{res1: 99})
	busier := AmountsOf(map[corev1.ResourceName]int64{res1: 100})
	// res2's slots all in use; busy2[:1] is res1's alone, from the same array
	busy2 := AmountsOf(map[corev1.ResourceName]int64{res1: 0, res2: 100})
	steps := []struct {
		name  string
		pod   Pod
		facts *NodeFacts
		at    time.Time
		ttl   time.Duration
		pools map[string]*PoolRoom
		bound Amounts
		// inFlight as NodeState's SlotsInFlight
		inFlight Amounts
		hit      bool // the memo holds the verdict
		pass     bool
	}{
		{name: "first", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), pass: true},
		{name: "nothing changed", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), hit: true, pass: true},
		{name: "heartbeat went stale", pod: twoRailPod(), facts: facts, at: now.Add(5 * time.Minute), pools: roomyPools()},
		{name: "still stale", pod: twoRailPod(), facts: facts, at: now.Add(6 * time.Minute), pools: roomyPools(), hit: true},
		{name: "stale under another TTL", pod: twoRailPod(), facts: facts, at: now.Add(6 * time.Minute), ttl: 3 * time.Minute, pools: roomyPools()},
		{name: "heartbeat from the future", pod: twoRailPod(), facts: facts, at: now.Add(-time.Hour), pools: roomyPools()},
		{name: "fresh again", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), pass: true},
		{name: "slots in use", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), bound: busy, pass: true},
		{name: "the same slots", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), bound: busy, hit: true, pass: true},
		{name: "more slots in use", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), bound: busier},
		{name: "slots in flight", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), inFlight: busy, pass: true},
		{name: "more slots in flight", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), inFlight: busier},
		{name: "res2's slots in use", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), bound: busy2},
		{name: "res1's alone, a shorter slice of the same array", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), bound: busy2[:1], pass: true},
		{name: "no slots in use", pod: twoRailPod(), facts: facts, at: now, pools: roomyPools(), pass: true},
		{name: "facts changed: NIC down", pod: twoRailPod(), facts: downFacts, at: now, pools: roomyPools()},
		{name: "still down", pod: twoRailPod(), facts: downFacts, at: now, pools: roomyPools(), hit: true},
		{name: "pool full", pod: twoRailPod(), facts: facts, at: now, pools: fullPools},
		{name: "pod shape: more slots than the node has", pod: big, facts: facts, at: now, pools: roomyPools()},
	}
	var m VerdictMemo
	for _, st := range steps {
		opts := DefaultOptions(st.at)
		if st.ttl != 0 {
			opts.HeartbeatTTL = st.ttl
		}
		nc := NewNodeChecker(st.pod, st.pools, opts)
		n := &NodeState{Name: "n1", Facts: st.facts, SlotsBound: st.bound, SlotsInFlight: st.inFlight}
		use := UseOf(n.SlotsBound, n.SlotsInFlight)
		got, gotUnresolvable, hit := nc.Remembered(&m, st.facts, use)
		reason, unresolvable := nc.Check(n)
		if !hit {
			got, gotUnresolvable = nc.Decide(&m, n, use)
		}
		if hit != st.hit || (reason == "") != st.pass || got != reason || gotUnresolvable != unresolvable {
			t.Fatalf("%s: remembered %t %q %t, Check %q %t; want remembered %t, pass %t", st.name, hit, got, gotUnresolvable, reason, unresolvable, st.hit, st.pass)
		}
	}
	// With Details every node is checked (to note what was found).
	opts := DefaultOptions(now)
	opts.Details = true
	if _, _, ok := NewNodeChecker(twoRailPod(), roomyPools(), opts).Remembered(&m, downFacts, Use{}); ok {
		t.Fatal("remembered with Details")
	}
}
