package coordinator

import (
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/railnet/railnet/api/cniconf"
)

func TestChecksOf(t *testing.T) {
	no := false
	for _, tt := range []struct {
		name string
		opts cniconf.CoordinatorOptions
		want Checks
		err  string
	}{
		{name: "defaults: both checks, 1s", want: Checks{IPConflict: true, Gateway: true, Timeout: time.Second}},
		{name: "gateway off, 300ms", opts: cniconf.CoordinatorOptions{DetectGateway: &no, ProbeTimeout: "300ms"},
			want: Checks{IPConflict: true, Timeout: 300 * time.Millisecond}},
		{name: "conflict off", opts: cniconf.CoordinatorOptions{DetectIPConflict: &no}, want: Checks{Gateway: true, Timeout: time.Second}},
		{name: "both off", opts: cniconf.CoordinatorOptions{DetectIPConflict: &no, DetectGateway: &no}, want: Checks{Timeout: time.Second}},
		{name: "not a duration", opts: cniconf.CoordinatorOptions{ProbeTimeout: "soon"}, err: `probeTimeout "soon" is not a positive duration like 500ms`},
		{name: "negative", opts: cniconf.CoordinatorOptions{ProbeTimeout: "-1s"}, err: `probeTimeout "-1s" is not a positive duration`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChecksOf(tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ChecksOf = %+v, %v; want %+v", got, err, tt.want)
			}
			// The plugin enters the pod's namespace for the probes only
			// when On: it must say whether any probe is sent.
			for _, a := range []Address{
				{IP: netip.MustParsePrefix("172.16.11.10/24"), Gateway: netip.MustParseAddr("172.16.11.254")},
				{IP: netip.MustParsePrefix("fd00:11::10/64"), Gateway: netip.MustParseAddr("fd00:11::fe")},
			} {
				if sends := len(got.probes("net1", []Address{a})) > 0; got.On() != sends {
					t.Errorf("On() = %v, but probes of %s sent: %v", got.On(), a.IP, sends)
				}
			}
		})
	}
}

func TestFromResult(t *testing.T) {
	idx0, idx1 := 0, 1
	cidr := func(s string) net.IPNet {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return *n
	}
	prev := &current.Result{
		Interfaces: []*current.Interface{{Name: "net1"}, {Name: "net2"}},
		IPs: []*current.IPConfig{
			{Interface: &idx0, Address: cidr("172.16.11.5/24"), Gateway: net.ParseIP("172.16.11.1")},
			{Interface: &idx1, Address: cidr("172.16.12.5/24"), Gateway: net.ParseIP("172.16.12.1")}, // another interface's
			{Address: cidr("fd00:11::5/64")}, // no index: this one's
		},
		Routes: []*types.Route{{Dst: cidr("10.0.0.0/8"), GW: net.ParseIP("172.16.11.254")}},
	}
	addrs, extra, err := FromResult("net1", prev)
	if err != nil {
		t.Fatal(err)
	}
	want := []Address{
		{IP: netip.MustParsePrefix("172.16.11.5/24"), Gateway: netip.MustParseAddr("172.16.11.1")},
		{IP: netip.MustParsePrefix("fd00:11::5/64")},
	}
	if !reflect.DeepEqual(addrs, want) {
		t.Errorf("addresses = %+v, want %+v", addrs, want)
	}
	if len(extra) != 1 || extra[0].Dst != netip.MustParsePrefix("10.0.0.0/8") || extra[0].Gw != netip.MustParseAddr("172.16.11.254") {
		t.Errorf("routes = %+v", extra)
	}
	if _, _, err := FromResult("net1", nil); err == nil || !strings.Contains(err.Error(), "net1: no prevResult; chain it after the main plugin and its IPAM") {
		t.Errorf("no prevResult: %v", err)
	}
}

// The probes the checks send, per setting and address: which, in which
// order, from and to which address, and with which bounds.
func TestProbes(t *testing.T) {
	v4 := Address{IP: netip.MustParsePrefix("172.16.11.10/24"), Gateway: netip.MustParseAddr("172.16.11.254")}
	v4NoGW := Address{IP: netip.MustParsePrefix("172.16.12.10/24")}
	v6 := Address{IP: netip.MustParsePrefix("fd00:11::10/64"), Gateway: netip.MustParseAddr("fd00:11::fe")}
	ms := time.Millisecond
	conflict := probe{Kind: probeConflict4, IfName: "net1", IP: v4.IP.Addr(), Gateway: v4.Gateway}
	gateway := probe{Kind: probeGateway4, IfName: "net1", IP: v4.IP.Addr(), Gateway: v4.Gateway}
	dad := probe{Kind: probeDAD, IfName: "net1", IP: v6.IP.Addr(), Gateway: v6.Gateway}
	gateway6 := probe{Kind: probeGateway6, IfName: "net1", IP: v6.IP.Addr(), Gateway: v6.Gateway}
	with := func(p probe, timeout, interval time.Duration) probe {
		p.Timeout, p.Interval = timeout, interval
		return p
	}
	for _, tt := range []struct {
		name   string
		checks Checks
		addrs  []Address
		want   []probe
	}{
		{name: "both checks, 1s: a fifth (at least 100ms) for the conflict, the whole for the gateway",
			checks: Checks{IPConflict: true, Gateway: true, Timeout: time.Second}, addrs: []Address{v4},
			want: []probe{with(conflict, 200*ms, 200*ms/3), with(gateway, time.Second, 200*ms)}},
		{name: "a short timeout keeps the conflict probe at 100ms",
			checks: Checks{IPConflict: true, Gateway: true, Timeout: 300 * ms}, addrs: []Address{v4},
			want: []probe{with(conflict, 100*ms, 100*ms/3), with(gateway, 300*ms, 60*ms)}},
		{name: "no gateway, no gateway probe", checks: Checks{IPConflict: true, Gateway: true, Timeout: time.Second},
			addrs: []Address{v4NoGW}, want: []probe{{Kind: probeConflict4, IfName: "net1", IP: v4NoGW.IP.Addr(), Timeout: 200 * ms, Interval: 200 * ms / 3}}},
		{name: "conflict check off", checks: Checks{Gateway: true, Timeout: time.Second}, addrs: []Address{v4},
			want: []probe{with(gateway, time.Second, 200*ms)}},
		{name: "gateway check off", checks: Checks{IPConflict: true, Timeout: time.Second}, addrs: []Address{v4},
			want: []probe{with(conflict, 200*ms, 200*ms/3)}},
		{name: "both off: nothing, not even IPv6 detection", checks: Checks{Timeout: time.Second}, addrs: []Address{v4, v6}},
		{name: "IPv6: the kernel's detection (at least 5s), then a solicitation",
			checks: Checks{IPConflict: true, Gateway: true, Timeout: time.Second}, addrs: []Address{v6},
			want: []probe{with(dad, dadWait, 0), with(gateway6, time.Second, 200*ms)}},
		{name: "IPv6 waits for detection even with the conflict check off",
			checks: Checks{Gateway: true, Timeout: 8 * time.Second}, addrs: []Address{v6},
			want: []probe{with(dad, 8*time.Second, 0), with(gateway6, 8*time.Second, 1600*ms)}},
		{name: "dual stack: each address in turn", checks: Checks{IPConflict: true, Gateway: true, Timeout: time.Second},
			addrs: []Address{v4, v6},
			want:  []probe{with(conflict, 200*ms, 200*ms/3), with(gateway, time.Second, 200*ms), with(dad, dadWait, 0), with(gateway6, time.Second, 200*ms)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.checks.probes("net1", tt.addrs); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("probes\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// What each probe's outcome means: the refusal texts a user reads.
func TestVerdict(t *testing.T) {
	ip, gw := netip.MustParseAddr("172.16.11.10"), netip.MustParseAddr("172.16.11.254")
	ip6, gw6 := netip.MustParseAddr("fd00:11::77"), netip.MustParseAddr("fd00:11::fe")
	peer := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x42}
	for _, tt := range []struct {
		name string
		p    probe
		o    outcome
		want string // "" passes
	}{
		{name: "IPv4 address held", p: probe{Kind: probeConflict4, IfName: "net2", IP: ip, Gateway: gw}, o: outcome{Found: true, Station: peer},
			want: "railnet-coordinator: net2: address 172.16.11.10 (gateway 172.16.11.254) is already used by 02:00:00:00:00:42 on the rail; " +
				"the address was released: remove it from that host or add it to the SpiderIPPool's excludeIPs"},
		{name: "IPv4 address held, pool without gateway", p: probe{Kind: probeConflict4, IfName: "net2", IP: ip}, o: outcome{Found: true, Station: peer},
			want: "railnet-coordinator: net2: address 172.16.11.10 (gateway none) is already used by 02:00:00:00:00:42 on the rail; "},
		{name: "IPv4 address free", p: probe{Kind: probeConflict4, IfName: "net2", IP: ip, Gateway: gw}},
		{name: "IPv4 gateway silent", p: probe{Kind: probeGateway4, IfName: "net1", IP: ip, Gateway: gw, Timeout: 300 * time.Millisecond},
			want: "railnet-coordinator: net1: gateway 172.16.11.254 did not answer ARP from 172.16.11.10 within 300ms; " +
				"the address was released: check the rail's cabling/VLAN and the SpiderIPPool's gateway, or set coordinator.detectGateway=false"},
		{name: "IPv4 gateway answers", p: probe{Kind: probeGateway4, IfName: "net1", IP: ip, Gateway: gw}, o: outcome{Found: true, Station: peer}},
		{name: "IPv6 duplicate", p: probe{Kind: probeDAD, IfName: "net2", IP: ip6, Gateway: gw6}, o: outcome{Found: true},
			want: "railnet-coordinator: net2: address fd00:11::77 (gateway fd00:11::fe) is already used by another station on the rail " +
				"(IPv6 duplicate address detection failed); the address was released"},
		{name: "IPv6 unique", p: probe{Kind: probeDAD, IfName: "net2", IP: ip6, Gateway: gw6}},
		{name: "IPv6 gateway silent", p: probe{Kind: probeGateway6, IfName: "net1", IP: ip6, Gateway: gw6, Timeout: time.Second},
			want: "railnet-coordinator: net1: gateway fd00:11::fe did not answer a neighbor solicitation from fd00:11::77 within 1s; the address was released"},
		{name: "IPv6 gateway answers without its link-layer address", p: probe{Kind: probeGateway6, IfName: "net1", IP: ip6, Gateway: gw6}, o: outcome{Found: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.verdict(tt.o)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("verdict %v\nwant %q", err, tt.want)
			}
		})
	}
}
