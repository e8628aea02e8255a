package simnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/railnet/railnet/test/ground"
)

// RailSpec describes one rail: the NIC name every node uses for it and the
// gateway address (with prefix) its switch answers on.
type RailSpec struct {
	Master  string
	Gateway netip.Prefix
}

// Fabric is the rails' switches.
type Fabric struct {
	Rails    []RailSpec
	switches []ns.NetNS
	id       string
}

// Node is one simulated node: a network namespace with a veth per rail.
type Node struct {
	Name   string
	Netns  ns.NetNS
	fabric *Fabric
	// peers[i] is the switch-side end of the node's rail i NIC.
	peers []string
}

// SeedRails returns the seed guide's 8 rails: masters enp11s0f0np0 …
// enp18s0f0np0, gateways 172.16.1N.254 on 172.16.1N.0/24.
func SeedRails() []RailSpec {
	out := make([]RailSpec, 8)
	for i := range out {
		out[i] = RailSpec{
			Master:  fmt.Sprintf("enp%ds0f0np0", 11+i),
			Gateway: netip.MustParsePrefix(fmt.Sprintf("172.16.%d.254/24", 11+i)),
		}
	}
	return out
}

// NewFabric creates one switch namespace per rail with a bridge carrying the
// rail's gateway address. Everything is removed when the test ends.
func NewFabric(tb ground.TB, rails []RailSpec) *Fabric {
	tb.Helper()
	f := &Fabric{Rails: rails, id: shortID()}
	for i, r := range rails {
		sw, err := testutils.NewNS()
		if err != nil {
			tb.Fatalf("create switch namespace for rail %d: %v", i, err)
		}
		tb.Cleanup(func() { _ = sw.Close(); _ = testutils.UnmountNS(sw) })
		f.switches = append(f.switches, sw)
		err = sw.Do(func(ns.NetNS) error {
			if err := setUp("lo"); err != nil {
				return err
			}
			br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "rail"}}
			if err := netlink.LinkAdd(br); err != nil {
				return fmt.Errorf("add bridge: %w", err)
			}
			addr := &netlink.Addr{IPNet: toIPNet(r.Gateway)}
			if err := netlink.AddrAdd(br, addr); err != nil {
				return fmt.Errorf("add gateway %s: %w", r.Gateway, err)
			}
			return netlink.LinkSetUp(br)
		})
		if err != nil {
			tb.Fatalf("rail %d switch: %v", i, err)
		}
	}
	return f
}

// Switch returns rail i's switch namespace.
func (f *Fabric) Switch(i int) ns.NetNS { return f.switches[i] }

// AddNode creates a node namespace with one veth per rail, named after the
// rail's master, cabled to the rail's switch bridge, all links up.
func (f *Fabric) AddNode(tb ground.TB, name string) *Node {
	tb.Helper()
	nodeNS, err := testutils.NewNS()
	if err != nil {
		tb.Fatalf("create namespace for node %s: %v", name, err)
	}
	tb.Cleanup(func() { _ = nodeNS.Close(); _ = testutils.UnmountNS(nodeNS) })
	n := &Node{Name: name, Netns: nodeNS, fabric: f}
	if err := nodeNS.Do(func(ns.NetNS) error { return setUp("lo") }); err != nil {
		tb.Fatal(err)
	}
	for i, r := range f.Rails {
		peer := fmt.Sprintf("r%d-%s", i, shortID()) // ≤ 15 bytes
		err := nodeNS.Do(func(ns.NetNS) error {
			veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: r.Master, MTU: 1500}, PeerName: peer}
			if err := netlink.LinkAdd(veth); err != nil {
				return fmt.Errorf("add veth %s: %w", r.Master, err)
			}
			p, err := netlink.LinkByName(peer)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetNsFd(p, int(f.switches[i].Fd())); err != nil {
				return fmt.Errorf("move %s to rail %d switch: %w", peer, i, err)
			}
			return setUp(r.Master)
		})
		if err != nil {
			tb.Fatalf("node %s rail %d: %v", name, i, err)
		}
		err = f.switches[i].Do(func(ns.NetNS) error {
			p, err := netlink.LinkByName(peer)
			if err != nil {
				return err
			}
			br, err := netlink.LinkByName("rail")
			if err != nil {
				return err
			}
			if err := netlink.LinkSetMaster(p, br); err != nil {
				return fmt.Errorf("attach %s to the rail bridge: %w", peer, err)
			}
			return netlink.LinkSetUp(p)
		})
		if err != nil {
			tb.Fatalf("node %s rail %d switch port: %v", name, i, err)
		}
		n.peers = append(n.peers, peer)
	}
	return n
}

// SetRail takes the node's rail i NIC down or up (the node-side link, as a
// cable pull or a port shutdown would look to the node's agent).
func (n *Node) SetRail(i int, up bool) error {
	return n.Netns.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName(n.fabric.Rails[i].Master)
		if err != nil {
			return err
		}
		if up {
			return netlink.LinkSetUp(l)
		}
		return netlink.LinkSetDown(l)
	})
}

func setUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

func shortID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// toIPNet keeps the host address (not the masked network), as AddrAdd wants.
func toIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

// Command returns a command that runs inside the node's network namespace
// (through `ip netns exec`, as a node's host-network daemon would run), for
// the node agent and anything else that must see the node's rail NICs.
func (n *Node) Command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", filepath.Base(n.Netns.Path()), bin}, args...)
	return exec.CommandContext(ctx, "ip", full...)
}
