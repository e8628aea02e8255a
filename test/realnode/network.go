package realnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
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
	// Pods is the cluster's pod network (a free 10.x.0.0/16); node i of
	// Attach gets PodCIDR(i), routed from the host through the node.
	Pods netip.Prefix

	mu    sync.Mutex
	next  netip.Addr
	nodes int
}

// NewNetwork creates the bridge on a free 10.x.y.0/24 (none of the host's
// routes overlap it) and removes it when the test ends.
func NewNetwork(tb ground.TB) *Network {
	tb.Helper()
	// Test processes choose their networks one at a time, and each choice
	// is visible as routes (the bridge's, the pod network's) before the
	// next process looks.
	unlock, err := lockNetworks(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	defer unlock()
	// Node networks come from 10.200-254.x.0/24 and pod networks from
	// 10.100-199.0.0/16: the two never meet.
	prefix, err := freePrefix(24, 200, 254)
	if err != nil {
		tb.Fatal(err)
	}
	pods, err := freePrefix(16, 100, 199)
	if err != nil {
		tb.Fatal(err)
	}
	gw := prefix.Addr().Next()
	n := &Network{Bridge: "rnb-" + shortID(), Prefix: prefix, Gateway: gw, Pods: pods, next: gw.Next()}
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
	// The pod network, reserved by a route on the bridge (each node's /24
	// is routed more specifically through the node); it goes with the bridge.
	l, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		tb.Fatal(err)
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(pods), Scope: netlink.SCOPE_LINK}); err != nil {
		tb.Fatalf("route the pod network %s to %s: %v", pods, n.Bridge, err)
	}
	return n
}

// lockNetworks holds a file lock shared by every test process while one
// chooses its networks.
func lockNetworks(ctx context.Context) (func(), error) {
	root, err := ground.CacheDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, "locks"), 0o755); err != nil {
		return nil, err
	}
	return ground.LockFile(ctx, filepath.Join(root, "locks", "realnode-networks.lock"))
}

// PodCIDR is the pod subnet of the i-th attached node (from 1).
func (n *Network) PodCIDR(i int) netip.Prefix {
	a := n.Pods.Addr().As4()
	a[2] = byte(i)
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// Attach gives the namespace an uplink "eth0" on the bridge with the next
// free address, a default route through the gateway and IP forwarding (its
// pods' traffic passes through it), routes the node's pod subnet to it from
// the host, and returns the address and the pod subnet.
func (n *Network) Attach(nodeNS ns.NetNS) (netip.Addr, netip.Prefix, error) {
	n.mu.Lock()
	addr := n.next
	n.next = addr.Next()
	n.nodes++
	podCIDR := n.PodCIDR(n.nodes)
	n.mu.Unlock()
	if !n.Prefix.Contains(addr) || n.nodes > 254 {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("network %s is full", n.Prefix)
	}
	host := "rnu-" + shortID()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host, MTU: 1500}, PeerName: "eth0",
		PeerNamespace: netlink.NsFd(int(nodeNS.Fd()))}
	if err := netlink.LinkAdd(veth); err != nil {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("add uplink %s: %w", host, err)
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, err
	}
	hl, err := netlink.LinkByName(host)
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, err
	}
	if err := netlink.LinkSetMaster(hl, br); err != nil {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("attach %s to %s: %w", host, n.Bridge, err)
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return netip.Addr{}, netip.Prefix{}, err
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
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enable IP forwarding: %w", err)
		}
		return netlink.RouteAdd(&netlink.Route{Gw: net.IP(n.Gateway.AsSlice())})
	})
	if err != nil {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("uplink inside the node: %w", err)
	}
	// The route goes with the bridge when the test ends.
	if err := netlink.RouteAdd(&netlink.Route{Dst: ipNet(podCIDR), Gw: net.IP(addr.AsSlice())}); err != nil {
		return netip.Addr{}, netip.Prefix{}, fmt.Errorf("route %s via %s: %w", podCIDR, addr, err)
	}
	return addr, podCIDR, nil
}

// freePrefix picks a 10.x.y.0/bits (x from lo to hi; y 0 for a /16) that
// no route of the host overlaps; tests of several packages run at once, each
// with its own.
func freePrefix(bits int, lo, hi int64) (netip.Prefix, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("list routes: %w", err)
	}
	for range 100 {
		x, _ := rand.Int(rand.Reader, big.NewInt(hi-lo+1))
		y, _ := rand.Int(rand.Reader, big.NewInt(256))
		if bits <= 16 {
			y.SetInt64(0)
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(lo + x.Int64()), byte(y.Int64()), 0}), bits)
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
	return netip.Prefix{}, fmt.Errorf("no free 10.%d-%d.x.0/%d for the test ground's networks", lo, hi, bits)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func shortID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
