package coordinator_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/railnet/railnet/nodeagent/coordinator"
	"github.com/railnet/railnet/nodeagent/coordinator/coordinatortest"
)

// Install installs the seed's layout for two rails in a real pod namespace,
// Verify agrees, a second Install changes nothing, Verify notices a removed
// route, and Remove (twice) leaves the main table as it was.
func TestInstallVerifyRemove(t *testing.T) {
	n := coordinatortest.NewNode(t, 2)
	rulesBefore := n.Rules(t)
	var layouts []coordinator.Layout
	for i, r := range n.Rails {
		ifName := "net" + string(rune('1'+i))
		ip := netip.PrefixFrom(r.Subnet.Addr().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next(), 24)
		n.Macvlan(t, i+1, ifName, ip)
		l, err := coordinator.Plan(ifName, []coordinator.Address{{IP: ip, Gateway: r.Gateway}},
			[]coordinator.Route{{Dst: netip.MustParsePrefix("10.20.0.0/16"), Gw: r.Gateway}})
		if err != nil {
			t.Fatal(err)
		}
		layouts = append(layouts, l)
	}
	// The main plugin put the pool route into main; it stays there too.
	coordinatortest.Do(t, n.Pod, func() error { return addMainRoute("net1", "10.20.0.0/16", "172.16.11.254") })
	// Each interface in a Kernel of its own (as the plugin runs), then both
	// through one Kernel.
	for _, l := range layouts {
		if err := inKernel(n.Pod, func(k *coordinator.Kernel) error {
			if err := k.SetUp(l.IfName, 4000); err != nil {
				return err
			}
			return k.Install(l)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := inKernel(n.Pod, func(k *coordinator.Kernel) error {
		for _, l := range layouts {
			if err := k.SetUp(l.IfName, 4000); err != nil {
				return err
			}
			if err := k.Install(l); err != nil {
				return err
			}
			if err := k.Verify(l, 4000); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantRules := []string{
		"0:\tfrom all lookup local",
		"32762:\tfrom 172.16.11.10 lookup 100",
		"32763:\tfrom 172.16.12.10 lookup 101",
		"32766:\tfrom all lookup main",
		"32767:\tfrom all lookup default",
	}
	if got := n.Rules(t); !slices.Equal(got, wantRules) {
		t.Fatalf("ip rule:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRules, "\n"))
	}
	for i, want := range [][]string{
		{"10.20.0.0/16 via 172.16.11.254 dev net1", "172.16.11.0/24 dev net1 scope link src 172.16.11.10", "default via 172.16.11.254 dev net1"},
		{"10.20.0.0/16 via 172.16.12.254 dev net2", "172.16.12.0/24 dev net2 scope link src 172.16.12.10", "default via 172.16.12.254 dev net2"},
	} {
		if got := n.Routes(t, 100+i); !slices.Equal(got, want) {
			t.Fatalf("table %d:\n%s\nwant\n%s", 100+i, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	wantMain := []string{
		"10.20.0.0/16 via 172.16.11.254 dev net1",
		"169.254.1.1 dev eth0 scope link",
		"172.16.11.0/24 dev net1 proto kernel scope link src 172.16.11.10",
		"172.16.12.0/24 dev net2 proto kernel scope link src 172.16.12.10",
		"default via 169.254.1.1 dev eth0",
	}
	if got := n.Routes(t, 254); !slices.Equal(got, wantMain) {
		t.Fatalf("main:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantMain, "\n"))
	}

	// CHECK notices a route removed behind its back, and a wrong MTU.
	coordinatortest.Do(t, n.Pod, func() error { return delTableDefault(100) })
	err := inKernel(n.Pod, func(k *coordinator.Kernel) error { return k.Verify(layouts[0], 4000) })
	if err == nil || !strings.Contains(err.Error(), `route "default via 172.16.11.254 dev net1" is missing from table 100`) {
		t.Fatalf("Verify after removing the default route: %v", err)
	}
	err = inKernel(n.Pod, func(k *coordinator.Kernel) error { return k.Verify(layouts[1], 1500) })
	if err == nil || !strings.Contains(err.Error(), "net2 has MTU 4000, the network says 1500") {
		t.Fatalf("Verify with another MTU: %v", err)
	}

	for range 2 {
		for _, l := range layouts {
			if err := inKernel(n.Pod, func(k *coordinator.Kernel) error { return k.Remove(l.IfName) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := n.Rules(t); !slices.Equal(got, rulesBefore) {
		t.Fatalf("rules after Remove: %q, want %q", got, rulesBefore)
	}
	for _, table := range []int{100, 101} {
		if got := n.Routes(t, table); len(got) != 0 {
			t.Fatalf("table %d after Remove: %q", table, got)
		}
	}
	if got := n.Routes(t, 254); !slices.Equal(got, wantMain) {
		t.Fatalf("main after Remove: %q, want %q", got, wantMain)
	}
}

// A dual-stack interface: Install puts a rule and routes of each family
// into its table, Verify agrees; a layout without the IPv6 address removes
// that rule (and Verify of the old layout names it); Remove takes both
// families' rules and routes out.
func TestInstallVerifyRemoveDualStack(t *testing.T) {
	n := coordinatortest.NewNode(t, 1)
	v4, v6 := netip.MustParsePrefix("172.16.11.10/24"), netip.MustParsePrefix("fd00:11::10/64")
	n.Macvlan(t, 1, "net1", v4)
	coordinatortest.Do(t, n.Pod, func() error { return coordinatortest.AddAddrNoDAD("net1", v6) })
	both, err := coordinator.Plan("net1", []coordinator.Address{
		{IP: v4, Gateway: netip.MustParseAddr("172.16.11.254")},
		{IP: v6, Gateway: netip.MustParseAddr("fd00:11::fe")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	only4, err := coordinator.Plan("net1", []coordinator.Address{{IP: v4, Gateway: netip.MustParseAddr("172.16.11.254")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := inKernel(n.Pod, func(k *coordinator.Kernel) error {
		if err := k.SetUp("net1", 0); err != nil {
			return err
		}
		if err := k.Install(both); err != nil {
			return err
		}
		return k.Verify(both, 0)
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"4 route 0.0.0.0/0 via 172.16.11.254 table 100",
		"4 route 172.16.11.0/24 table 100",
		"4 rule from 172.16.11.10/32 table 100",
		"6 route ::/0 via fd00:11::fe table 100",
		"6 route fd00:11::/64 table 100",
		"6 rule from fd00:11::10/128 table 100",
	}
	if got := tableListing(t, n.Pod, 100); !slices.Equal(got, want) {
		t.Fatalf("table 100 after Install:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	err = inKernel(n.Pod, func(k *coordinator.Kernel) error {
		if err := k.Install(only4); err != nil {
			return err
		}
		return k.Verify(both, 0)
	})
	if err == nil || !strings.Contains(err.Error(), `rule "32762:\tfrom fd00:11::10 lookup 100" of net1 is missing`) {
		t.Fatalf("Verify of the dual-stack layout after installing the IPv4 one: %v", err)
	}
	if got := tableListing(t, n.Pod, 100); slices.Contains(got, "6 rule from fd00:11::10/128 table 100") {
		t.Fatalf("the IPv6 rule stayed after installing a layout without it: %q", got)
	}
	if err := inKernel(n.Pod, func(k *coordinator.Kernel) error { return k.Remove("net1") }); err != nil {
		t.Fatal(err)
	}
	if got := tableListing(t, n.Pod, 100); len(got) != 0 {
		t.Fatalf("table 100 after Remove: %q", got)
	}
}

// SetUp brings a down interface up and sets its MTU; on an interface that
// is up with that MTU it changes nothing.
func TestSetUp(t *testing.T) {
	n := coordinatortest.NewNode(t, 1)
	n.Macvlan(t, 1, "net1", netip.MustParsePrefix("172.16.11.10/24"))
	coordinatortest.Do(t, n.Pod, func() error { return setDown("net1") })
	for range 2 {
		if err := inKernel(n.Pod, func(k *coordinator.Kernel) error { return k.SetUp("net1", 4100) }); err != nil {
			t.Fatal(err)
		}
		up, mtu := linkState(t, n.Pod, "net1")
		if !up || mtu != 4100 {
			t.Fatalf("net1 after SetUp: up %v, MTU %d; want up, MTU 4100", up, mtu)
		}
	}
}

// Probe against a real gateway namespace: the gateway answers with its MAC,
// an address nobody holds gets no answer within the bound, and an address a
// station holds is found by the conflict probe (sender 0.0.0.0).
func TestProbe(t *testing.T) {
	n := coordinatortest.NewNode(t, 1)
	n.Macvlan(t, 1, "net1", netip.MustParsePrefix("172.16.11.10/24"))
	n.GatewayAddr(t, 1, netip.MustParsePrefix("172.16.11.77/24"))
	gwMAC := n.PeerMAC(t, 1)
	for _, tc := range []struct {
		name   string
		src    string
		target string
		found  bool
	}{
		{"gateway answers", "172.16.11.10", "172.16.11.254", true},
		{"conflict probe finds a holder", "0.0.0.0", "172.16.11.77", true},
		{"conflict probe of a free address", "0.0.0.0", "172.16.11.10", false},
		{"absent gateway", "172.16.11.10", "172.16.11.253", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 300 * time.Millisecond
			start := time.Now()
			var found bool
			coordinatortest.Do(t, n.Pod, func() error {
				hw, ok, err := coordinator.Probe("net1", netip.MustParseAddr(tc.src), netip.MustParseAddr(tc.target), timeout, 100*time.Millisecond)
				if ok && hw.String() != gwMAC.String() {
					t.Errorf("answered by %s, want the gateway namespace's %s", hw, gwMAC)
				}
				found = ok
				return err
			})
			took := time.Since(start)
			if found != tc.found {
				t.Fatalf("found = %v, want %v", found, tc.found)
			}
			if took > timeout+10*time.Second { // only against a hang: a loaded machine is slow
				t.Fatalf("probe took %s, bound %s", took, timeout)
			}
			if !found && took < timeout {
				t.Fatalf("gave up after %s, before the bound %s", took, timeout)
			}
		})
	}
	err := n.Pod.Do(func(_ nsNetNS) error {
		_, _, err := coordinator.Probe("net9", netip.IPv4Unspecified(), netip.MustParseAddr("172.16.11.10"), time.Second, time.Second)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "find interface net9") {
		t.Fatalf("probe on a missing interface: %v", err)
	}
}

// IPv6 against a real gateway namespace: the kernel's duplicate address
// detection reports an address another station holds and passes a free one;
// the gateway answers a neighbor solicitation with its MAC, an absent one
// does not within the bound.
func TestIPv6DADAndSolicit(t *testing.T) {
	n := coordinatortest.NewNode(t, 1)
	gw := netip.MustParseAddr("fd00:11::fe")
	taken := netip.MustParseAddr("fd00:11::77")
	n.GatewayAddr(t, 1, netip.PrefixFrom(gw, 64))
	n.GatewayAddr(t, 1, netip.PrefixFrom(taken, 64))
	gwMAC := n.PeerMAC(t, 1)
	free := netip.MustParseAddr("fd00:11::10")
	n.Macvlan(t, 1, "net1", netip.PrefixFrom(free, 64))
	n.Macvlan(t, 1, "net2", netip.PrefixFrom(taken, 64))

	coordinatortest.Do(t, n.Pod, func() error {
		if conflict, err := coordinator.WaitDAD("net1", free, 5*time.Second); err != nil || conflict {
			t.Errorf("free address %s: conflict %v, err %v; want no conflict", free, conflict, err)
		}
		if conflict, err := coordinator.WaitDAD("net2", taken, 5*time.Second); err != nil || !conflict {
			t.Errorf("held address %s: conflict %v, err %v; want a conflict", taken, conflict, err)
		}
		if _, err := coordinator.WaitDAD("net1", netip.MustParseAddr("fd00:11::99"), time.Second); err == nil ||
			!strings.Contains(err.Error(), "address fd00:11::99 is not on net1") {
			t.Errorf("absent address: %v", err)
		}

		const timeout = 300 * time.Millisecond
		hw, found, err := coordinator.Solicit("net1", free, gw, timeout, 100*time.Millisecond)
		if err != nil || !found || hw.String() != gwMAC.String() {
			t.Errorf("gateway %s: found %v hw %s err %v; want found by %s", gw, found, hw, err, gwMAC)
		}
		start := time.Now()
		_, found, err = coordinator.Solicit("net1", free, netip.MustParseAddr("fd00:11::fd"), timeout, 100*time.Millisecond)
		// It gives up once the timeout has passed, not before; the upper
		// bound only proves it does not hang (a loaded machine is slow).
		if took := time.Since(start); err != nil || found || took < timeout || took > timeout+10*time.Second {
			t.Errorf("absent gateway: found %v err %v after %s; want not found after %s", found, err, took, timeout)
		}
		return nil
	})
}
