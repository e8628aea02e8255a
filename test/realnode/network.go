package realnode

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"sync"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/railnet/railnet/test/ground"
)

// Network is the nodes' management network: a bridge in the host namespace
// whose address (the gateway) is how a node reaches the API server, and one
// address per node, its InternalIP, on which the API server reaches the
// kubelet.
type Network struct {
	Bridge  string
	Prefix  netip.Prefix
	Gateway netip.Addr

	mu   sync.Mutex
	next netip.Addr
}

// NewNetwork creates the bridge on a free 10.x.y.0/24 (none of the host's
// routes overlap it) and removes it when the test ends.
func NewNetwork(tb ground.TB) *Network {
	tb.Helper()
	prefix, err := freePrefix()
	if err != nil {
		tb.Fatal(err)
	}
	gw := prefix.Addr().Next()
	n := &Network{Bridge: "rnb-" + shortID(), Prefix: prefix, Gateway: gw, next: gw.Next()}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
	if err := netlink.LinkAdd(br); err != nil {
		tb.Fatalf("add bridge %s: %v", n.Bridge, err)
	}
	tb.Cleanup(func() { _ = netlink.LinkDel(br) })
	if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(gw, prefix.Bits()))}); err != nil {
		tb.Fatalf("address %s on %s: %v", gw, n.Bridge, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		tb.Fatalf("set %s up: %v", n.Bridge, err)
	}
	return n
}

// Attach gives the namespace an uplink "eth0" on the bridge with the next
// free address and a default route through the gateway, and returns the
// address.
func (n *Network) Attach(nodeNS ns.NetNS) (netip.Addr, error) {
	n.mu.Lock()
	addr := n.next
	n.next = addr.Next()
	n.mu.Unlock()
	if !n.Prefix.Contains(addr) {
		return netip.Addr{}, fmt.Errorf("network %s is full", n.Prefix)
	}
	host := "rnu-" + shortID()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host, MTU: 1500}, PeerName: "eth0",
		PeerNamespace: netlink.NsFd(int(nodeNS.Fd()))}
	if err := netlink.LinkAdd(veth); err != nil {
		return netip.Addr{}, fmt.Errorf("add uplink %s: %w", host, err)
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return netip.Addr{}, err
	}
	hl, err := netlink.LinkByName(host)
	if err != nil {
		return netip.Addr{}, err
	}
	if err := netlink.LinkSetMaster(hl, br); err != nil {
		return netip.Addr{}, fmt.Errorf("attach %s to %s: %w", host, n.Bridge, err)
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return netip.Addr{}, err
	}
	err = nodeNS.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(addr, n.Prefix.Bits()))}); err != nil {
			return fmt.Errorf("address %s: %w", addr, err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return err
		}
		if lo, err := netlink.LinkByName("lo"); err == nil {
			_ = netlink.LinkSetUp(lo)
		}
		return netlink.RouteAdd(&netlink.Route{Gw: net.IP(n.Gateway.AsSlice())})
	})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("uplink inside the node: %w", err)
	}
	return addr, nil
}

// freePrefix picks a 10.x.y.0/24 (x in 200–254) that no route of the host
// overlaps; tests of several packages run at once, each with its own.
func freePrefix() (netip.Prefix, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("list routes: %w", err)
	}
	for range 100 {
		x, _ := rand.Int(rand.Reader, big.NewInt(55))
		y, _ := rand.Int(rand.Reader, big.NewInt(256))
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + x.Int64()), byte(y.Int64()), 0}), 24)
		taken := false
		for _, r := range routes {
			if r.Dst == nil {
				continue
			}
			a, _ := netip.AddrFromSlice(r.Dst.IP.To4())
			ones, _ := r.Dst.Mask.Size()
			if ones == 0 {
				continue // the default route
			}
			if rp := netip.PrefixFrom(a, ones); rp.Overlaps(p) {
				taken = true
				break
			}
		}
		if !taken {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free 10.200-254.x.0/24 for the nodes' network")
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func shortID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
