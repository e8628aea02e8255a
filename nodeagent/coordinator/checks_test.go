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
