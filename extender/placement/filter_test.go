package placement

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1alpha1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestFilter(t *testing.T) {
	opts := DefaultOptions(now)
	withStatus := func(name string, mut func(*railnetv1alpha1.RDMANodeStatus)) NodeState {
		n := healthy(name)
		n.RDMANode = rdmaNode(name, mut)
		return n
	}
	disabled := true
	tests := []struct {
		name      string
		pod       Pod
		node      NodeState
		pools     map[string]*PoolRoom
		wantPass  bool
		wantRetry string // substring of a FailedNodes reason
		wantUnres string // substring of a FailedAndUnresolvableNodes reason
	}{
		{name: "healthy node passes", pod: twoRailPod(), node: healthy("n1"), wantPass: true},
		{name: "pod without rails passes an unknown node", pod: Pod{Ref: "a/b"}, node: NodeState{Name: "ghost"}, wantPass: true},
		{name: "unknown node", pod: twoRailPod(), node: NodeState{Name: "ghost"},
			wantUnres: "node ghost is unknown to the railnet extender"},
		{name: "no RDMANode", pod: twoRailPod(), node: NodeState{Name: "n1", Node: node("n1", nil)},
			wantUnres: "node n1 has no RDMANode: the railnet node agent has not reported its RDMA NICs; run the agent on the node"},
		{name: "no heartbeat", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) { s.HeartbeatTime = nil }),
			wantUnres: "RDMANode n1 has no heartbeat"},
		{name: "stale heartbeat", pod: twoRailPod(),
			node: withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) {
				hb := metav1.NewTime(now.Add(-5 * time.Minute))
				s.HeartbeatTime = &hb
			}),
			wantUnres: "RDMANode n1 is stale: last heartbeat 5m0s ago (limit 2m0s); check the railnet node agent on the node"},
		{name: "heartbeat from the future", pod: twoRailPod(),
			node: withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) {
				hb := metav1.NewTime(now.Add(time.Hour))
				s.HeartbeatTime = &hb
			}),
			wantUnres: "RDMANode n1 heartbeat is 1h0m0s in the future (limit 2m0s): the node's clock is ahead; fix its time (NTP) or the agent's"},
		{name: "clock skew within the TTL", pod: twoRailPod(), wantPass: true,
			node: withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) {
				hb := metav1.NewTime(now.Add(30 * time.Second))
				s.HeartbeatTime = &hb
			})},
		{name: "netns exclusive", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) { s.NetnsMode = railnetv1alpha1.NetnsModeExclusive }),
			wantUnres: "node n1 RDMA netns mode is exclusive; macvlan RDMA needs shared: run `rdma system set netns shared` on the node"},
		{name: "rail NIC missing", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) { s.NICs = s.NICs[:1] }),
			wantUnres: "rail spiderpool/gpu2-macvlan: NIC eth2 not found on node n1 (RDMANode lists eth1); fix the network's master or the node's cabling"},
		{name: "link down", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) { s.NICs[0].LinkState = "down" }),
			wantUnres: "rail spiderpool/gpu1-macvlan: NIC eth1 on node n1 is down (link down, RDMA mlx5_1 port 1 ACTIVE); bring the link up or drain the node"},
		{name: "RDMA port down", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) { s.NICs[1].PortState = "DOWN" }),
			wantUnres: "rail spiderpool/gpu2-macvlan: NIC eth2 on node n1 is down (link up, RDMA mlx5_2 port 1 DOWN)"},
		{name: "rail label down", pod: twoRailPod(),
			node:      NodeState{Name: "n1", Node: node("n1", map[string]string{"railnet.io/rail.1": "down"}), RDMANode: rdmaNode("n1")},
			wantUnres: "rail spiderpool/gpu2-macvlan: NIC eth2 on node n1 is down (node label railnet.io/rail.1=down)"},
		{name: "GID table full", pod: twoRailPod(),
			node:      withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) { s.NICs[0].GIDTableUsed = 253 }),
			wantUnres: "rail spiderpool/gpu1-macvlan: GID table of mlx5_1 port 1 (NIC eth1) on node n1 is full (253 of 256 entries used, 4 needed)"},
		{name: "GID table with room", pod: twoRailPod(),
			node: withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) { s.NICs[0].GIDTableUsed = 252 }), wantPass: true},
		{name: "GID table with room for a NIC the agent saw without IPv6", pod: twoRailPod(),
			node: withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) {
				s.NICs[0].GIDTableUsed, s.NICs[0].GIDsPerAddress, s.NICs[0].GIDsPerInterface = 254, 2, 2
			}), wantPass: true},
		{name: "pool full", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": NewPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.2"), slices.Values([]string{"172.16.11.1", "172.16.11.2"}), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "rail spiderpool/gpu1-macvlan: no address for node n1: SpiderIPPool gpu1-net11 has no free address (2 usable, 2 allocated, 0 promised to pods being scheduled); add addresses to spec.ips or free some"},
		{name: "pool full through in-flight pods", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": NewPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.2"), slices.Values([]string{"172.16.11.1"}), 1),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "SpiderIPPool gpu1-net11 has no free address (2 usable, 1 allocated, 1 promised to pods being scheduled)"},
		{name: "pool missing", pod: twoRailPod(), node: healthy("n1"),
			pools:     map[string]*PoolRoom{"gpu1-net11": roomyPools()["gpu1-net11"]},
			wantUnres: "rail spiderpool/gpu2-macvlan: no address for node n1: SpiderIPPool gpu2-net12 does not exist; create it or fix the network's ippools"},
		{name: "pool disabled", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": NewPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.9", func(p *spiderv2beta1.SpiderIPPool) { p.Spec.Disable = &disabled }), slices.Values([]string(nil)), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "SpiderIPPool gpu1-net11 is disabled (spec.disable); enable it or name another pool"},
		{name: "pool for other nodes by name", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": NewPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.9", func(p *spiderv2beta1.SpiderIPPool) { p.Spec.NodeName = []string{"n2", "n3"} }), slices.Values([]string(nil)), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "SpiderIPPool gpu1-net11 serves only nodes n2,n3 (spec.nodeName), not n1; add the node or name another pool"},
		{name: "pool for other nodes by affinity", pod: twoRailPod(), node: healthy("n1"),
			pools: map[string]*PoolRoom{
				"gpu1-net11": NewPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.9", func(p *spiderv2beta1.SpiderIPPool) {
					p.Spec.NodeAffinity = &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "r7"}}
				}), slices.Values([]string(nil)), 0),
				"gpu2-net12": roomyPools()["gpu2-net12"],
			},
			wantUnres: "SpiderIPPool gpu1-net11 serves only nodes matching rack=r7 (spec.nodeAffinity), not n1; label the node or name another pool"},
		{name: "pool affinity matches", pod: twoRailPod(),
			node: NodeState{Name: "n1", Node: node("n1", map[string]string{"rack": "r7"}), RDMANode: rdmaNode("n1")},
			pools: map[string]*PoolRoom{
				"gpu1-net11": NewPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.9", func(p *spiderv2beta1.SpiderIPPool) {
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
				m["full"] = NewPoolRoom(pool("full", "172.16.11.1"), slices.Values([]string{"172.16.11.1"}), 0)
				return m
			}(),
			wantPass: true},
		{name: "slots all in use is retryable", pod: twoRailPod(),
			node: func() NodeState {
				n := healthy("n1")
				n.SlotsBound = map[corev1.ResourceName]int64{res1: 98}
				n.SlotsInFlight = map[corev1.ResourceName]int64{res1: 2}
				return n
			}(),
			wantRetry: "node n1: RDMA resource spidernet.io/shared_cx5_gpu1 has 100 of 100 slots in use (98 by bound pods, 2 by pods being scheduled), pod needs 1; wait for pods to finish or raise rdmaHcaMax"},
		{name: "node advertises no resource", pod: twoRailPod(),
			node: func() NodeState {
				n := healthy("n1")
				delete(n.Node.Status.Allocatable, res2)
				return n
			}(),
			wantUnres: "node n1 advertises no spidernet.io/shared_cx5_gpu2"},
		{name: "down rail and full slots: unresolvable wins and says both", pod: twoRailPod(),
			node: func() NodeState {
				n := withStatus("n1", func(s *railnetv1alpha1.RDMANodeStatus) { s.NICs[0].LinkState = "down" })
				n.SlotsBound = map[corev1.ResourceName]int64{res2: 100}
				return n
			}(),
			wantUnres: "NIC eth1 on node n1 is down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pools := tt.pools
			if pools == nil {
				pools = roomyPools()
			}
			res := Filter(tt.pod, []NodeState{tt.node}, pools, opts)
			name := tt.node.Name
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
	down.RDMANode.Status.NICs[0].LinkState = "down"
	nodes := []NodeState{healthy("b"), healthy("a"), down, healthy("d")}
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
