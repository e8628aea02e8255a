package coordinator

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestTableAndPriorityPerInterface(t *testing.T) {
	for _, tc := range []struct {
		ifName          string
		table, priority int
		err             string
	}{
		{ifName: "net1", table: 100, priority: 32762},
		{ifName: "net2", table: 101, priority: 32763},
		{ifName: "net3", table: 102, priority: 32764},
		{ifName: "net4", table: 103, priority: 32765},
		{ifName: "net8", table: 107, priority: 32765},
		{ifName: "net1000", table: 1099, priority: 32765},
		{ifName: "eth0", err: `interface "eth0" is not named net1…net1000`},
		{ifName: "net0", err: `interface "net0" is not named`},
		{ifName: "net01", err: `interface "net01" is not named`},
		{ifName: "net1001", err: `interface "net1001" is not named`},
		{ifName: "net-1", err: `interface "net-1" is not named`},
		{ifName: "rdma1", err: "leave the interface name to Multus"},
	} {
		t.Run(tc.ifName, func(t *testing.T) {
			table, err := Table(tc.ifName)
			prio, perr := Priority(tc.ifName)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || perr == nil {
					t.Fatalf("Table(%q) = %d, %v; want error containing %q", tc.ifName, table, err, tc.err)
				}
				return
			}
			if err != nil || perr != nil || table != tc.table || prio != tc.priority {
				t.Fatalf("Table, Priority(%q) = %d, %d (%v, %v); want %d, %d", tc.ifName, table, prio, err, perr, tc.table, tc.priority)
			}
		})
	}
}

// The seed's step 2: eight rails, 172.16.1{1..8}.10/24 via .254. Each
// interface's rule and table render exactly as `ip rule` / `ip route show
// table N` print them.
func TestPlanSeedLayout(t *testing.T) {
	var rules []string
	for n := 1; n <= 8; n++ {
		ifName := "net" + string(rune('0'+n))
		subnet := netip.MustParsePrefix("172.16.1" + string(rune('0'+n)) + ".0/24")
		ip := subnet.Addr().Next()
		for range 9 {
			ip = ip.Next()
		}
		gw := netip.MustParseAddr("172.16.1" + string(rune('0'+n)) + ".254")
		l, err := Plan(ifName, []Address{{IP: netip.PrefixFrom(ip, 24), Gateway: gw}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if l.Table != 99+n {
			t.Fatalf("%s: table %d", ifName, l.Table)
		}
		for _, r := range l.Rules {
			rules = append(rules, r.String())
		}
		var routes []string
		for _, r := range l.Routes {
			routes = append(routes, r.Render(ifName))
		}
		want := []string{
			subnet.String() + " dev " + ifName + " scope link src " + ip.String(),
			"default via " + gw.String() + " dev " + ifName,
		}
		if !slices.Equal(routes, want) {
			t.Fatalf("%s: routes\n%s\nwant\n%s", ifName, strings.Join(routes, "\n"), strings.Join(want, "\n"))
		}
	}
	want := []string{
		"32762:\tfrom 172.16.11.10 lookup 100",
		"32763:\tfrom 172.16.12.10 lookup 101",
		"32764:\tfrom 172.16.13.10 lookup 102",
		"32765:\tfrom 172.16.14.10 lookup 103",
		"32765:\tfrom 172.16.15.10 lookup 104",
		"32765:\tfrom 172.16.16.10 lookup 105",
		"32765:\tfrom 172.16.17.10 lookup 106",
		"32765:\tfrom 172.16.18.10 lookup 107",
	}
	if !slices.Equal(rules, want) {
		t.Fatalf("rules\n%s\nwant\n%s", strings.Join(rules, "\n"), strings.Join(want, "\n"))
	}
}

func TestPlan(t *testing.T) {
	v4 := func(ip string, gw string) Address {
		a := Address{IP: netip.MustParsePrefix(ip)}
		if gw != "" {
			a.Gateway = netip.MustParseAddr(gw)
		}
		return a
	}
	for _, tc := range []struct {
		name   string
		ifName string
		addrs  []Address
		extra  []Route
		rules  []string
		routes []string
		err    string
	}{{
		name: "pool routes go into the table", ifName: "net2",
		addrs: []Address{v4("172.16.12.10/24", "172.16.12.254")},
		extra: []Route{{Dst: netip.MustParsePrefix("10.20.0.0/16"), Gw: netip.MustParseAddr("172.16.12.1")},
			{Dst: netip.MustParsePrefix("10.30.1.7/16")}},
		rules: []string{"32763:\tfrom 172.16.12.10 lookup 101"},
		routes: []string{"172.16.12.0/24 dev net2 scope link src 172.16.12.10", "default via 172.16.12.254 dev net2",
			"10.20.0.0/16 via 172.16.12.1 dev net2", "10.30.0.0/16 via 172.16.12.254 dev net2"},
	}, {
		name: "no gateway: only the subnet route", ifName: "net1",
		addrs:  []Address{v4("192.168.0.5/26", "")},
		rules:  []string{"32762:\tfrom 192.168.0.5 lookup 100"},
		routes: []string{"192.168.0.0/26 dev net1 scope link src 192.168.0.5"},
	}, {
		name: "dual stack", ifName: "net5",
		addrs: []Address{v4("172.16.15.10/24", "172.16.15.254"), v4("fd00:15::10/64", "fd00:15::1")},
		rules: []string{"32765:\tfrom 172.16.15.10 lookup 104", "32765:\tfrom fd00:15::10 lookup 104"},
		routes: []string{"172.16.15.0/24 dev net5 scope link src 172.16.15.10", "default via 172.16.15.254 dev net5",
			"fd00:15::/64 dev net5 scope link src fd00:15::10", "default via fd00:15::1 dev net5"},
	}, {
		name: "a default pool route equal to the gateway is not doubled", ifName: "net1",
		addrs:  []Address{v4("172.16.11.10/24", "172.16.11.254")},
		extra:  []Route{{Dst: netip.MustParsePrefix("0.0.0.0/0")}},
		rules:  []string{"32762:\tfrom 172.16.11.10 lookup 100"},
		routes: []string{"172.16.11.0/24 dev net1 scope link src 172.16.11.10", "default via 172.16.11.254 dev net1"},
	}, {
		name: "gateway outside the subnet", ifName: "net1",
		addrs: []Address{v4("172.16.11.10/24", "172.16.12.254")},
		err:   "net1: gateway 172.16.12.254 is not in the subnet 172.16.11.0/24 of 172.16.11.10; fix spec.gateway of the SpiderIPPool",
	}, {
		name: "no address", ifName: "net1",
		err: "net1 has no address from IPAM; put an ipam section (railnet-ipam) in the main plugin",
	}, {
		name: "unnumbered interface", ifName: "eth1", addrs: []Address{v4("172.16.11.10/24", "")},
		err: `interface "eth1" is not named net1…net1000`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Plan(tc.ifName, tc.addrs, tc.extra)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Plan error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var rules, routes []string
			for _, r := range l.Rules {
				rules = append(rules, r.String())
			}
			for _, r := range l.Routes {
				routes = append(routes, r.Render(tc.ifName))
			}
			if !slices.Equal(rules, tc.rules) || !slices.Equal(routes, tc.routes) {
				t.Fatalf("rules %q\nroutes %q\nwant %q\n%q", rules, routes, tc.rules, tc.routes)
			}
			for _, a := range tc.addrs {
				if !l.Holds(a.IP.Addr()) {
					t.Fatalf("layout does not hold %s", a.IP.Addr())
				}
			}
		})
	}
}
