package placement

import (
	"iter"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/rails"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const (
	res1 corev1.ResourceName = "spidernet.io/shared_cx5_gpu1"
	res2 corev1.ResourceName = "spidernet.io/shared_cx5_gpu2"
)

func twoRailPod() Pod {
	return Pod{
		Ref: "train/worker-0",
		Rails: []rails.Rail{
			{Network: "spiderpool/gpu1-macvlan", Masters: []string{"eth1"}, Resource: res1, PoolsV4: []string{"gpu1-net11"}},
			{Network: "spiderpool/gpu2-macvlan", Masters: []string{"eth2"}, Resource: res2, PoolsV4: []string{"gpu2-net12"}},
		},
		Requests: map[corev1.ResourceName]int64{res1: 1, res2: 1},
	}
}

func node(name string, labels map[string]string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			res1: resource.MustParse("100"), res2: resource.MustParse("100"),
		}},
	}
}

func rail(i int32) *int32 { return &i }

func rdmaNode(name string, mut ...func(*railnetv1.RDMANodeStatus)) *railnetv1.RDMANode {
	hb := metav1.NewTime(now.Add(-10 * time.Second))
	rn := &railnetv1.RDMANode{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: railnetv1.RDMANodeStatus{
			NetnsMode: railnetv1.NetnsModeShared,
			NICs: []railnetv1.NIC{
				{Netdev: "eth1", RDMADevice: "mlx5_1", Port: 1, PortState: "ACTIVE", LinkState: "up", Rail: rail(0),
					GIDTableSize: 256, GIDTableUsed: 4, GPUDistance: railnetv1.DistancePIX},
				{Netdev: "eth2", RDMADevice: "mlx5_2", Port: 1, PortState: "ACTIVE", LinkState: "up", Rail: rail(1),
					GIDTableSize: 256, GIDTableUsed: 4, GPUDistance: railnetv1.DistancePXB},
			},
			RailsTotal: 2, RailsUp: 2, HeartbeatTime: &hb,
		},
	}
	for _, m := range mut {
		m(&rn.Status)
	}
	return rn
}

// fixture is a node as a test builds it; state computes its facts.
type fixture struct {
	name            string
	node            *corev1.Node
	rdma            *railnetv1.RDMANode
	bound, inflight map[corev1.ResourceName]int64
}

func (f fixture) state() NodeState {
	s := NodeState{Name: f.name, SlotsBound: AmountsOf(f.bound), SlotsInFlight: AmountsOf(f.inflight)}
	if f.node != nil {
		s.Facts = NewNodeFacts(f.node, f.rdma)
	}
	return s
}

func states(fs ...fixture) []NodeState {
	out := make([]NodeState, len(fs))
	for i, f := range fs {
		out[i] = f.state()
	}
	return out
}

func healthy(name string) fixture {
	return fixture{name: name, node: node(name, nil), rdma: rdmaNode(name)}
}

func pool(name, ips string, mut ...func(*spiderv2beta1.SpiderIPPool)) *spiderv2beta1.SpiderIPPool {
	gw := "172.16.11.254"
	p := &spiderv2beta1.SpiderIPPool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       spiderv2beta1.IPPoolSpec{Subnet: "172.16.11.0/24", IPs: []string{ips}, Gateway: &gw},
	}
	for _, m := range mut {
		m(p)
	}
	return p
}

func roomyPools() map[string]*PoolRoom {
	return map[string]*PoolRoom{
		"gpu1-net11": newPoolRoom(pool("gpu1-net11", "172.16.11.1-172.16.11.200"), slices.Values([]string(nil)), 0),
		"gpu2-net12": newPoolRoom(pool("gpu2-net12", "172.16.12.1-172.16.12.200"), slices.Values([]string(nil)), 0),
	}
}

// newPoolRoom is NewPoolRoom over the addresses as IPAllocations spell
// them (those that do not parse count nowhere).
func newPoolRoom(pool *spiderv2beta1.SpiderIPPool, allocated iter.Seq[string], inFlight int64) *PoolRoom {
	return NewPoolRoom(pool, func(usable func(netip.Addr) bool) (n int64) {
		for a := range allocated {
			if ip, err := netip.ParseAddr(a); err == nil && usable(ip) {
				n++
			}
		}
		return n
	}, inFlight)
}
