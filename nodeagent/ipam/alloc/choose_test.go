package alloc

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/ippool"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestChoosePool(t *testing.T) {
	pool := func(name, subnet string, ips ...string) *spiderv2beta1.SpiderIPPool {
		return &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: spiderv2beta1.IPPoolSpec{Subnet: subnet, IPs: ips}}
	}
	v4 := pool("gpu1-net11", "172.16.11.0/24", "172.16.11.1-172.16.11.10")
	v6 := pool("gpu1-v6", "fd00:11::/64", "fd00:11::1-fd00:11::4")
	yes := true
	disabled := pool("off", "172.16.12.0/24", "172.16.12.1")
	disabled.Spec.Disable = &yes
	otherNode := pool("elsewhere", "172.16.13.0/24", "172.16.13.1")
	otherNode.Spec.NodeName = []string{"node-b"}
	badIPs := pool("bad", "172.16.14.0/24", "172.16.14.x")
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}
	req := Request{PodNamespace: "train", PodName: "worker-0", PodUID: "uid-1", IfName: "net1", ContainerID: "c2"}
	held := []railnetv1.IPAllocation{{Spec: railnetv1.IPAllocationSpec{Pool: "gpu1-net11", IP: "172.16.11.7", ContainerID: "c1"}}}
	heldHere := []railnetv1.IPAllocation{{Spec: railnetv1.IPAllocationSpec{Pool: "gpu1-net11", IP: "172.16.11.7", ContainerID: "c2"}}}

	tests := []struct {
		name       string
		pool       *spiderv2beta1.SpiderIPPool
		poolName   string
		ipv6       bool
		mine       []railnetv1.IPAllocation
		wantSkip   string
		wantReuse  string // the reused allocation's IP
		wantMoveTo string
		wantUsable uint64
	}{
		{name: "missing pool", poolName: "gone", wantSkip: "SpiderIPPool gone does not exist"},
		{name: "IPv6 pool under ipv4", pool: v6,
			wantSkip: "SpiderIPPool gpu1-v6 is an IPv6 pool (spec.subnet fd00:11::/64) but is listed under ippools.ipv4; list it under the other family"},
		{name: "IPv4 pool under ipv6", pool: v4, ipv6: true,
			wantSkip: "SpiderIPPool gpu1-net11 is an IPv4 pool (spec.subnet 172.16.11.0/24) but is listed under ippools.ipv6; list it under the other family"},
		{name: "fresh address from a usable pool", pool: v4, wantUsable: 10},
		{name: "fresh IPv6 address", pool: v6, ipv6: true, wantUsable: 4},
		{name: "the interface keeps its address, moved to the new container", pool: v4, mine: held,
			wantReuse: "172.16.11.7", wantMoveTo: "c2"},
		{name: "the interface keeps its address, same container", pool: v4, mine: heldHere, wantReuse: "172.16.11.7"},
		{name: "an address in another pool is not this pool's", pool: v6, ipv6: true, mine: held, wantUsable: 4},
		{name: "its own address is kept even on a pool now disabled", pool: func() *spiderv2beta1.SpiderIPPool {
			p := v4.DeepCopy()
			p.Spec.Disable = &yes
			return p
		}(), mine: heldHere, wantReuse: "172.16.11.7"},
		{name: "disabled pool", pool: disabled, wantSkip: "SpiderIPPool off is disabled (spec.disable: true)"},
		{name: "pool of another node", pool: otherNode, wantSkip: "SpiderIPPool elsewhere serves only nodes [node-b] (spec.nodeName), not node-a"},
		{name: "malformed ips", pool: badIPs, wantSkip: `SpiderIPPool bad: spec.ips: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.poolName
			if tt.pool != nil {
				name = tt.pool.Name
			}
			c := choosePool(name, tt.pool, tt.ipv6, node, req, tt.mine)
			if tt.wantSkip != "" {
				if !strings.HasPrefix(c.Skip, tt.wantSkip) || c.Reuse != nil || c.Usable != nil {
					t.Fatalf("choice %+v, want skip %q", c, tt.wantSkip)
				}
				return
			}
			if c.Skip != "" {
				t.Fatalf("skipped: %s", c.Skip)
			}
			if tt.wantReuse != "" {
				if c.Reuse == nil || c.Reuse.Spec.IP != tt.wantReuse || c.MoveTo != tt.wantMoveTo || c.Usable != nil {
					t.Fatalf("choice %+v, want reuse of %s moved to %q", c, tt.wantReuse, tt.wantMoveTo)
				}
				return
			}
			if c.Reuse != nil || c.Usable == nil || c.Usable.Count() != tt.wantUsable {
				t.Fatalf("choice %+v, want %d usable addresses", c, tt.wantUsable)
			}
		})
	}
}

func TestFullReason(t *testing.T) {
	c := choosePool("gpu1-net11", &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: "gpu1-net11"},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: "172.16.11.0/24", IPs: []string{"172.16.11.1-172.16.11.2"}}},
		false, &corev1.Node{}, Request{}, nil)
	used := map[netip.Addr]bool{netip.MustParseAddr("172.16.11.1"): true, netip.MustParseAddr("172.16.11.2"): true,
		netip.MustParseAddr("172.16.99.9"): true} // held through another pool: not counted
	if got, want := fullReason("gpu1-net11", used, c.Usable), "SpiderIPPool gpu1-net11 has no free address: 2 of 2 in use"; got != want {
		t.Errorf("fullReason = %q, want %q", got, want)
	}
}

// planFamily walks a family's pools in the network's order: every pool gets
// its step (skips keep their reasons in order), and the plan ends at the
// pool holding the interface's address, which a pool before it that is
// usable still comes ahead of (the network's order wins).
func TestPlanFamily(t *testing.T) {
	pool := func(name, subnet string, ips ...string) *spiderv2beta1.SpiderIPPool {
		return &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: spiderv2beta1.IPPoolSpec{Subnet: subnet, IPs: ips}}
	}
	pools := map[string]*spiderv2beta1.SpiderIPPool{
		"a":  pool("a", "172.16.11.0/24", "172.16.11.1-172.16.11.4"),
		"b":  pool("b", "172.16.12.0/24", "172.16.12.1-172.16.12.2"),
		"c":  pool("c", "172.16.13.0/24", "172.16.13.1"),
		"v6": pool("v6", "fd00:11::/64", "fd00:11::1"),
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}
	req := Request{PodNamespace: "train", PodName: "worker-0", PodUID: "uid-1", IfName: "net1", ContainerID: "c1"}
	inB := []railnetv1.IPAllocation{{Spec: railnetv1.IPAllocationSpec{Pool: "b", IP: "172.16.12.2", ContainerID: "c1"}}}
	// step renders a step as "pool:skip <reason>", "pool:reuse <ip>",
	// "pool:usable <count>" or "error <err>".
	step := func(st familyStep) string {
		name := "<nil>"
		if st.Pool != nil {
			name = st.Pool.Name
		}
		switch {
		case st.Err != nil:
			return "error " + st.Err.Error()
		case st.Skip != "":
			return name + ":skip " + st.Skip
		case st.Reuse != nil:
			return name + ":reuse " + st.Reuse.Spec.IP
		}
		return fmt.Sprintf("%s:usable %d", name, st.Usable.Count())
	}
	unreadable := map[string]error{"d": errors.New("read SpiderIPPool d: connection refused")}
	for _, tt := range []struct {
		name   string
		names  []string
		mine   []railnetv1.IPAllocation
		failed map[string]error
		want   []string
	}{
		{name: "one usable pool", names: []string{"a"}, want: []string{"a:usable 4"}},
		{name: "skips keep their order before the usable pools", names: []string{"gone", "v6", "a", "b"}, want: []string{
			"<nil>:skip SpiderIPPool gone does not exist",
			"v6:skip SpiderIPPool v6 is an IPv6 pool (spec.subnet fd00:11::/64) but is listed under ippools.ipv4; list it under the other family",
			"a:usable 4", "b:usable 2"}},
		{name: "the plan ends at the interface's own address", names: []string{"b", "c"}, mine: inB,
			want: []string{"b:reuse 172.16.12.2"}},
		{name: "a usable pool ahead of the one holding the address comes first", names: []string{"a", "b", "c"}, mine: inB,
			want: []string{"a:usable 4", "b:reuse 172.16.12.2"}},
		{name: "no pools", names: nil, want: nil},
		{name: "a pool that could not be read ends the plan where it stands", names: []string{"gone", "a", "d", "b"}, failed: unreadable,
			want: []string{"<nil>:skip SpiderIPPool gone does not exist", "a:usable 4", "error read SpiderIPPool d: connection refused"}},
		{name: "a pool that could not be read first", names: []string{"d", "a"}, failed: unreadable,
			want: []string{"error read SpiderIPPool d: connection refused"}},
		{name: "a pool that could not be read after the interface's own address is never reached", names: []string{"b", "d"},
			mine: inB, failed: unreadable, want: []string{"b:reuse 172.16.12.2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, st := range planFamily(tt.names, pools, tt.failed, false, node, req, tt.mine) {
				got = append(got, step(st))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("plan\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// free yields each usable address the cache does not see taken once, in
// the interface's candidate order, and nothing when all are taken.
func TestFree(t *testing.T) {
	usable, err := ippool.Parse([]string{"10.0.0.1-10.0.0.6"})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{PodUID: "uid-1", IfName: "net2"}
	var order []netip.Addr
	for ip := range candidates(usable, "uid-1/net2") {
		order = append(order, ip)
	}
	addr := netip.MustParseAddr
	for _, tt := range []struct {
		name string
		used map[netip.Addr]bool
		want []netip.Addr
	}{
		{name: "nothing used", want: order},
		{name: "some used, others in candidate order", used: map[netip.Addr]bool{order[0]: true, order[3]: true, addr("10.9.9.9"): true},
			want: []netip.Addr{order[1], order[2], order[4], order[5]}},
		{name: "all used", used: map[netip.Addr]bool{addr("10.0.0.1"): true, addr("10.0.0.2"): true, addr("10.0.0.3"): true,
			addr("10.0.0.4"): true, addr("10.0.0.5"): true, addr("10.0.0.6"): true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Collect(free(usable, tt.used, req))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("free = %v, want %v", got, tt.want)
			}
		})
	}
}
