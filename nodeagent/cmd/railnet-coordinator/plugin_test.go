package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/railnet/railnet/nodeagent/coordinator/coordinatortest"
)

// conf is the coordinator's entry as libcni hands it over: with the main
// plugin's result for interface ifName holding ip via gw.
func conf(t testing.TB, extra, ifName, ip, gw string) []byte {
	t.Helper()
	sandbox := "/var/run/netns/pod"
	prev := map[string]any{
		"cniVersion": "1.0.0",
		"interfaces": []map[string]any{{"name": ifName, "mac": "02:00:00:00:00:01", "sandbox": sandbox}},
		"ips":        []map[string]any{{"address": ip, "gateway": gw, "interface": 0}},
	}
	b, _ := json.Marshal(prev)
	return fmt.Appendf(nil, `{"cniVersion":"1.0.0","name":"gpu-macvlan","type":"railnet-coordinator"%s,"prevResult":%s}`, extra, b)
}

func args(n *coordinatortest.Node, ifName string, stdin []byte) *skel.CmdArgs {
	return &skel.CmdArgs{ContainerID: "sandbox-1", Netns: n.Pod.Path(), IfName: ifName, StdinData: stdin}
}

// Eight rails through cmdAdd: the seed's `ip rule` and per-table routes;
// CHECK passes; a repeated ADD changes nothing; DEL twice leaves nothing.
func TestAddCheckDelEightRails(t *testing.T) {
	n := coordinatortest.NewNode(t, 8)
	rulesBefore := n.Rules(t)
	for i := 1; i <= 8; i++ {
		ifName, ip, gw := fmt.Sprintf("net%d", i), fmt.Sprintf("172.16.1%d.10/24", i), fmt.Sprintf("172.16.1%d.254", i)
		n.Macvlan(t, i, ifName, netip.MustParsePrefix(ip))
		for range 2 {
			res, _, err := testutils.CmdAddWithArgs(args(n, ifName, conf(t, `,"mtu":4200,"probeTimeout":"500ms"`, ifName, ip, gw)), func() error {
				return cmdAdd(args(n, ifName, conf(t, `,"mtu":4200,"probeTimeout":"500ms"`, ifName, ip, gw)))
			})
			if err != nil {
				t.Fatalf("ADD %s: %v", ifName, err)
			}
			r, err := current.NewResultFromResult(res)
			if err != nil || len(r.IPs) != 1 || r.IPs[0].Address.String() != ip {
				t.Fatalf("ADD %s result %v (%v): the previous result must pass through", ifName, res, err)
			}
		}
		a := args(n, ifName, conf(t, `,"mtu":4200`, ifName, ip, gw))
		if err := testutils.CmdCheckWithArgs(a, func() error { return cmdCheck(a) }); err != nil {
			t.Fatalf("CHECK %s: %v", ifName, err)
		}
	}
	want := coordinatortest.SeedRuleListing()
	got := n.Rules(t)
	// The kernel lists equal priorities newest first; compare as sets.
	if !sameSet(got, want) {
		t.Fatalf("ip rule:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := 1; i <= 8; i++ {
		wantT := []string{
			fmt.Sprintf("172.16.1%d.0/24 dev net%d scope link src 172.16.1%d.10", i, i, i),
			fmt.Sprintf("default via 172.16.1%d.254 dev net%d", i, i),
		}
		if got := n.Routes(t, 99+i); !slices.Equal(got, wantT) {
			t.Fatalf("table %d: %q, want %q", 99+i, got, wantT)
		}
	}
	if got := n.Routes(t, 254); !slices.Contains(got, "default via "+coordinatortest.ClusterGateway+" dev eth0") {
		t.Fatalf("the cluster default route left main: %q", got)
	}
	// CHECK with another MTU than the one applied fails and says why.
	a := args(n, "net3", conf(t, `,"mtu":9000`, "net3", "172.16.13.10/24", "172.16.13.254"))
	if err := testutils.CmdCheckWithArgs(a, func() error { return cmdCheck(a) }); err == nil ||
		!strings.Contains(err.Error(), "net3 has MTU 4200, the network says 9000") {
		t.Fatalf("CHECK with MTU 9000: %v", err)
	}
	for range 2 {
		for i := 1; i <= 8; i++ {
			a := args(n, fmt.Sprintf("net%d", i), conf(t, "", fmt.Sprintf("net%d", i), fmt.Sprintf("172.16.1%d.10/24", i), ""))
			if err := testutils.CmdDelWithArgs(a, func() error { return cmdDel(a) }); err != nil {
				t.Fatalf("DEL: %v", err)
			}
		}
	}
	if got := n.Rules(t); !slices.Equal(got, rulesBefore) {
		t.Fatalf("rules after DEL: %q", got)
	}
	for i := 1; i <= 8; i++ {
		if got := n.Routes(t, 99+i); len(got) != 0 {
			t.Fatalf("table %d after DEL: %q", 99+i, got)
		}
	}
}

// Failed checks fail ADD naming the interface, address and gateway, and
// install nothing; switching the check off lets the same ADD pass.
func TestAddRefusals(t *testing.T) {
	n := coordinatortest.NewNode(t, 2)
	n.Macvlan(t, 1, "net1", netip.MustParsePrefix("172.16.11.10/24"))
	n.Macvlan(t, 2, "net2", netip.MustParsePrefix("172.16.12.10/24"))
	n.GatewayAddr(t, 2, netip.MustParsePrefix("172.16.12.10/24")) // another host holds net2's address
	for _, tc := range []struct {
		name, ifName, extra, ip, gw, err string
	}{{
		name: "gateway unreachable", ifName: "net1", extra: `,"probeTimeout":"300ms","detectIPConflict":false`,
		ip: "172.16.11.10/24", gw: "172.16.11.253",
		err: "railnet-coordinator: net1: gateway 172.16.11.253 did not answer ARP from 172.16.11.10 within 300ms; the address was released",
	}, {
		name: "address conflict", ifName: "net2", extra: `,"probeTimeout":"300ms"`,
		ip: "172.16.12.10/24", gw: "172.16.12.254",
		err: "railnet-coordinator: net2: address 172.16.12.10 (gateway 172.16.12.254) is already used by " + n.PeerMAC(t, 2).String(),
	}, {
		name: "bad probe timeout", ifName: "net1", extra: `,"probeTimeout":"soon"`,
		ip: "172.16.11.10/24", gw: "172.16.11.254",
		err: `probeTimeout "soon" is not a positive duration like 500ms`,
	}, {
		name: "interface without a table", ifName: "eth0", ip: "10.233.119.164/32",
		err: `interface "eth0" is not named net1…net1000`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			a := args(n, tc.ifName, conf(t, tc.extra, tc.ifName, tc.ip, tc.gw))
			start := time.Now()
			_, _, err := testutils.CmdAddWithArgs(a, func() error { return cmdAdd(a) })
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("ADD error %v, want %q", err, tc.err)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("ADD took %s", time.Since(start))
			}
			if got := n.Rules(t); len(got) != 3 {
				t.Fatalf("a failed ADD left rules: %q", got)
			}
		})
	}
	a := args(n, "net1", conf(t, `,"detectGateway":false`, "net1", "172.16.11.10/24", "172.16.11.253"))
	if _, _, err := testutils.CmdAddWithArgs(a, func() error { return cmdAdd(a) }); err != nil {
		t.Fatalf("ADD with detectGateway=false: %v", err)
	}
	if got := n.Routes(t, 100); !slices.Contains(got, "default via 172.16.11.253 dev net1") {
		t.Fatalf("table 100: %q", got)
	}
	// Both checks off: no probe is sent (net2's address is held by another
	// host), and the interface still gets its MTU and layout.
	a = args(n, "net2", conf(t, `,"mtu":4200,"detectGateway":false,"detectIPConflict":false`, "net2", "172.16.12.10/24", "172.16.12.254"))
	if _, _, err := testutils.CmdAddWithArgs(a, func() error { return cmdAdd(a) }); err != nil {
		t.Fatalf("ADD with both checks off: %v", err)
	}
	if got := n.Rules(t); !slices.Contains(got, "32763:\tfrom 172.16.12.10 lookup 101") {
		t.Fatalf("ip rule after ADD with both checks off: %q", got)
	}
	if got := n.Routes(t, 101); !slices.Contains(got, "default via 172.16.12.254 dev net2") {
		t.Fatalf("table 101: %q", got)
	}
	if err := testutils.CmdCheckWithArgs(a, func() error { return cmdCheck(a) }); err != nil {
		t.Fatalf("CHECK after ADD with both checks off (MTU 4200, up, layout): %v", err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// IPv6 through cmdAdd: a free address with a gateway that answers passes;
// an address another station holds fails the kernel's duplicate address
// detection; a gateway that does not answer solicitations is refused.
func TestAddIPv6Checks(t *testing.T) {
	n := coordinatortest.NewNode(t, 1)
	gw, taken := netip.MustParseAddr("fd00:11::fe"), netip.MustParseAddr("fd00:11::77")
	n.GatewayAddr(t, 1, netip.PrefixFrom(gw, 64))
	n.GatewayAddr(t, 1, netip.PrefixFrom(taken, 64))
	n.Macvlan(t, 1, "net1", netip.MustParsePrefix("fd00:11::10/64"))
	n.Macvlan(t, 1, "net2", netip.MustParsePrefix("fd00:11::77/64"))

	for _, tc := range []struct {
		name, ifName, extra, ip, gw, err string
	}{{
		name: "held address", ifName: "net2", extra: `,"probeTimeout":"300ms"`, ip: "fd00:11::77/64", gw: "fd00:11::fe",
		err: "railnet-coordinator: net2: address fd00:11::77 (gateway fd00:11::fe) is already used by another station on the rail " +
			"(IPv6 duplicate address detection failed); the address was released",
	}, {
		name: "gateway silent", ifName: "net1", extra: `,"probeTimeout":"300ms","detectIPConflict":false`, ip: "fd00:11::10/64", gw: "fd00:11::fd",
		err: "railnet-coordinator: net1: gateway fd00:11::fd did not answer a neighbor solicitation from fd00:11::10 within 300ms; the address was released",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			a := args(n, tc.ifName, conf(t, tc.extra, tc.ifName, tc.ip, tc.gw))
			_, _, err := testutils.CmdAddWithArgs(a, func() error { return cmdAdd(a) })
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("ADD error %v, want %q", err, tc.err)
			}
		})
	}
	a := args(n, "net1", conf(t, `,"probeTimeout":"300ms"`, "net1", "fd00:11::10/64", "fd00:11::fe"))
	if _, _, err := testutils.CmdAddWithArgs(a, func() error { return cmdAdd(a) }); err != nil {
		t.Fatalf("ADD of a free address with an answering gateway: %v", err)
	}
}
