package coordinatortest

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/railnet/railnet/nodeagent/coordinator"
)

// Rail is one rail NIC of the node.
type Rail struct {
	Master  string       // the veth in the node namespace (macvlan's master)
	Peer    string       // its peer in the gateway namespace
	Subnet  netip.Prefix // 172.16.1N.0/24 for rail N, as in the seed
	Gateway netip.Addr   // .254 of the subnet, held by Peer
}

// Node is the namespaces of one test node.
type Node struct {
	Node, Gateway, Pod ns.NetNS
	Rails              []Rail
}

// ClusterGateway is the pod's default route on eth0.
const ClusterGateway = "169.254.1.1"

// NewNode creates rails rail NICs (at most 9: rail N uses 172.16.1N.0/24)
// and the namespaces, removed at the end of the test.
func NewNode(tb testing.TB, rails int) *Node {
	tb.Helper()
	n := &Node{Node: newNS(tb), Gateway: newNS(tb), Pod: newNS(tb)}
	for i := 1; i <= rails; i++ {
		r := Rail{Master: fmt.Sprintf("rail%d", i), Peer: fmt.Sprintf("gw%d", i),
			Subnet: netip.MustParsePrefix(fmt.Sprintf("172.16.1%d.0/24", i))}
		r.Gateway = netip.MustParseAddr(fmt.Sprintf("172.16.1%d.254", i))
		do(tb, n.Node, func() error {
			v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: r.Master, MTU: 9000}, PeerName: r.Peer,
				PeerNamespace: netlink.NsFd(int(n.Gateway.Fd()))}
			if err := netlink.LinkAdd(v); err != nil {
				return fmt.Errorf("add veth %s: %w", r.Master, err)
			}
			return up(r.Master)
		})
		do(tb, n.Gateway, func() error {
			peer, err := netlinksafe.LinkByName(r.Peer)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetMTU(peer, 9000); err != nil {
				return err
			}
			if err := AddAddr(r.Peer, netip.PrefixFrom(r.Gateway, 24)); err != nil {
				return err
			}
			return up(r.Peer)
		})
		n.Rails = append(n.Rails, r)
	}
	// eth0 of the pod, its peer in the node namespace.
	do(tb, n.Pod, func() error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "cali0",
			PeerNamespace: netlink.NsFd(int(n.Node.Fd()))}
		if err := netlink.LinkAdd(v); err != nil {
			return fmt.Errorf("add eth0: %w", err)
		}
		if err := AddAddr("eth0", netip.MustParsePrefix("10.233.119.164/32")); err != nil {
			return err
		}
		if err := up("eth0"); err != nil {
			return err
		}
		eth0, err := netlinksafe.LinkByName("eth0")
		if err != nil {
			return err
		}
		idx := eth0.Attrs().Index
		gw := net.ParseIP(ClusterGateway)
		if err := netlink.RouteAdd(&netlink.Route{LinkIndex: idx, Dst: &net.IPNet{IP: gw, Mask: net.CIDRMask(32, 32)}, Scope: netlink.SCOPE_LINK}); err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: idx, Gw: gw})
	})
	return n
}

// GatewayAddr adds an address to rail i's (1-based) peer in the gateway
// namespace, so that it answers ARP or NDP for it (a gateway or a
// conflicting host). An IPv6 address is waited for until it has passed the
// kernel's duplicate address detection, so it is answered for at once.
func (n *Node) GatewayAddr(tb testing.TB, rail int, p netip.Prefix) {
	tb.Helper()
	peer := n.Rails[rail-1].Peer
	do(tb, n.Gateway, func() error {
		if err := AddAddr(peer, p); err != nil || p.Addr().Is4() {
			return err
		}
		conflict, err := coordinator.WaitDAD(peer, p.Addr(), 5*time.Second)
		if err == nil && conflict {
			err = fmt.Errorf("gateway address %s failed duplicate address detection", p.Addr())
		}
		return err
	})
}

// PeerMAC returns the hardware address of rail i's peer.
func (n *Node) PeerMAC(tb testing.TB, rail int) net.HardwareAddr {
	tb.Helper()
	var hw net.HardwareAddr
	do(tb, n.Gateway, func() error {
		peer, err := netlinksafe.LinkByName(n.Rails[rail-1].Peer)
		if err == nil {
			hw = peer.Attrs().HardwareAddr
		}
		return err
	})
	return hw
}

// Macvlan creates, as the macvlan plugin does, interface ifName in the pod
// namespace on rail i's master with address p.
func (n *Node) Macvlan(tb testing.TB, rail int, ifName string, p netip.Prefix) {
	tb.Helper()
	do(tb, n.Node, func() error {
		master, err := netlinksafe.LinkByName(n.Rails[rail-1].Master)
		if err != nil {
			return err
		}
		m := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: ifName, ParentIndex: master.Attrs().Index,
			Namespace: netlink.NsFd(int(n.Pod.Fd()))}, Mode: netlink.MACVLAN_MODE_BRIDGE}
		return netlink.LinkAdd(m)
	})
	do(tb, n.Pod, func() error {
		if err := AddAddr(ifName, p); err != nil {
			return err
		}
		return up(ifName)
	})
}

// Rules renders the rules of the pod namespace as `ip rule` does (IPv4).
func (n *Node) Rules(tb testing.TB) []string {
	tb.Helper()
	var out []string
	do(tb, n.Pod, func() error {
		rules, err := netlinksafe.RuleList(netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, r := range rules {
			from := "all"
			if r.Src != nil {
				from = r.Src.IP.String()
				if ones, bits := r.Src.Mask.Size(); ones != bits {
					from = r.Src.String()
				}
			}
			table := fmt.Sprint(r.Table)
			switch r.Table {
			case 255:
				table = "local"
			case 254:
				table = "main"
			case 253:
				table = "default"
			}
			out = append(out, fmt.Sprintf("%d:\tfrom %s lookup %s", r.Priority, from, table))
		}
		return nil
	})
	return out
}

// Routes renders table's IPv4 routes in the pod namespace as `ip route show
// table N` does, sorted.
func (n *Node) Routes(tb testing.TB, table int) []string {
	tb.Helper()
	var out []string
	do(tb, n.Pod, func() error {
		routes, err := netlinksafe.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return err
		}
		for _, r := range routes {
			dst := "default"
			if r.Dst != nil && !(r.Dst.IP.IsUnspecified() && strings.HasSuffix(r.Dst.String(), "/0")) {
				dst = r.Dst.String()
				if ones, bits := r.Dst.Mask.Size(); ones == bits {
					dst = r.Dst.IP.String()
				}
			}
			dev := ""
			if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
				dev = l.Attrs().Name
			}
			s := dst
			if r.Gw != nil {
				s += " via " + r.Gw.String()
			}
			s += " dev " + dev
			if r.Protocol == netlink.RouteProtocol(2) {
				s += " proto kernel"
			}
			if r.Scope == netlink.SCOPE_LINK {
				s += " scope link"
			}
			if r.Src != nil {
				s += " src " + r.Src.String()
			}
			out = append(out, s)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// Links returns the names of the pod namespace's links.
func (n *Node) Links(tb testing.TB) []string {
	tb.Helper()
	var out []string
	do(tb, n.Pod, func() error {
		links, err := netlinksafe.LinkList()
		for _, l := range links {
			out = append(out, l.Attrs().Name)
		}
		return err
	})
	slices.Sort(out)
	return out
}

// AddAddr adds p to link name in the current namespace.
func AddAddr(name string, p netip.Prefix) error { return addAddr(name, p, 0) }

// AddAddrNoDAD adds p to link name in the current namespace, usable at
// once: an IPv6 address skips duplicate address detection.
func AddAddrNoDAD(name string, p netip.Prefix) error { return addAddr(name, p, unix.IFA_F_NODAD) }

func addAddr(name string, p netip.Prefix, flags int) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	ipn := &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: ipn, Flags: flags}); err != nil {
		return fmt.Errorf("add %s to %s: %w", p, name, err)
	}
	return nil
}

func up(name string) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}

func newNS(tb testing.TB) ns.NetNS {
	tb.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		tb.Fatalf("new netns: %v", err)
	}
	tb.Cleanup(func() { _ = n.Close(); _ = testutils.UnmountNS(n) })
	return n
}

// Do runs f in netns n, failing the test on error.
func Do(tb testing.TB, n ns.NetNS, f func() error) {
	tb.Helper()
	do(tb, n, f)
}

func do(tb testing.TB, n ns.NetNS, f func() error) {
	tb.Helper()
	if err := n.Do(func(ns.NetNS) error { return f() }); err != nil {
		tb.Fatal(err)
	}
}

// SeedRailRules are the rules of a pod holding 172.16.1N.10 on netN for the
// eight rails, as the seed's `ip rule` lists them.
func SeedRailRules() []string {
	return []string{
		"32762:\tfrom 172.16.11.10 lookup 100",
		"32763:\tfrom 172.16.12.10 lookup 101",
		"32764:\tfrom 172.16.13.10 lookup 102",
		"32765:\tfrom 172.16.14.10 lookup 103",
		"32765:\tfrom 172.16.15.10 lookup 104",
		"32765:\tfrom 172.16.16.10 lookup 105",
		"32765:\tfrom 172.16.17.10 lookup 106",
		"32765:\tfrom 172.16.18.10 lookup 107",
	}
}

// SeedRuleListing is the pod's whole `ip rule` listing with SeedRailRules:
// the kernel's local, main and default rules around them.
func SeedRuleListing() []string {
	out := append([]string{"0:\tfrom all lookup local"}, SeedRailRules()...)
	return append(out, "32766:\tfrom all lookup main", "32767:\tfrom all lookup default")
}
