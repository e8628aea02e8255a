package validate

import (
	"net/netip"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func poolFrom(t *testing.T, name, spec string) *spiderv2beta1.SpiderIPPool {
	t.Helper()
	p := &spiderv2beta1.SpiderIPPool{}
	p.Name = name
	if err := yaml.UnmarshalStrict([]byte(spec), &p.Spec); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultPool(t *testing.T) {
	tests := []struct {
		name         string
		spec         string
		wantSpec     string
		wantWarnings []string
	}{
		{
			name:         "seed pool: non-canonical subnet normalised, ipVersion inferred",
			spec:         "{gateway: 172.16.11.254, subnet: 172.16.11.0/16, ips: [172.16.11.1-172.16.11.200]}",
			wantSpec:     "{ipVersion: 4, gateway: 172.16.11.254, subnet: 172.16.0.0/16, ips: [172.16.11.1-172.16.11.200]}",
			wantWarnings: []string{"SpiderIPPool gpu1-net11: spec.subnet 172.16.11.0/16 is not a network address; normalised to 172.16.0.0/16 (network address 172.16.0.0)"},
		},
		{
			name:         "spec.default is kept, with a warning that railnet does not use it",
			spec:         "{subnet: 10.1.0.0/24, ips: [10.1.0.10-10.1.0.20], default: true}",
			wantSpec:     "{ipVersion: 4, subnet: 10.1.0.0/24, ips: [10.1.0.10-10.1.0.20], default: true}",
			wantWarnings: []string{"SpiderIPPool gpu1-net11: spec.default has no effect in railnet: interfaces get addresses only from the pools their SpiderMultusConfig names in ippools; name gpu1-net11 there"},
		},
		{
			name:     "IPv6, canonical",
			spec:     "{subnet: 'fd00:11::/64', ips: ['fd00:11::10-fd00:11::20']}",
			wantSpec: "{ipVersion: 6, subnet: 'fd00:11::/64', ips: ['fd00:11::10-fd00:11::20']}",
		},
		{
			name:         "gateway inside ips excluded with a warning",
			spec:         "{subnet: 10.1.0.0/24, gateway: 10.1.0.1, ips: [10.1.0.1-10.1.0.50]}",
			wantSpec:     "{ipVersion: 4, subnet: 10.1.0.0/24, gateway: 10.1.0.1, ips: [10.1.0.1-10.1.0.50], excludeIPs: [10.1.0.1]}",
			wantWarnings: []string{"SpiderIPPool gpu1-net11: gateway 10.1.0.1 is inside spec.ips; added it to spec.excludeIPs so no pod gets it"},
		},
		{
			name:     "gateway already excluded: no warning",
			spec:     "{ipVersion: 4, subnet: 10.1.0.0/24, gateway: 10.1.0.1, ips: [10.1.0.1-10.1.0.50], excludeIPs: [10.1.0.1]}",
			wantSpec: "{ipVersion: 4, subnet: 10.1.0.0/24, gateway: 10.1.0.1, ips: [10.1.0.1-10.1.0.50], excludeIPs: [10.1.0.1]}",
		},
		{name: "malformed subnet left for validation", spec: "{subnet: nope}", wantSpec: "{subnet: nope}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := poolFrom(t, "gpu1-net11", tt.spec)
			warnings := DefaultPool(p)
			if want := poolFrom(t, "gpu1-net11", tt.wantSpec); !reflect.DeepEqual(p.Spec, want.Spec) {
				t.Errorf("spec = %+v, want %+v", p.Spec, want.Spec)
			}
			if !reflect.DeepEqual(warnings, tt.wantWarnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.wantWarnings)
			}
			if err := ValidatePool(p, nil, nil, nil); err != nil && tt.name != "malformed subnet left for validation" {
				t.Errorf("defaulted pool invalid: %v", err)
			}
		})
	}
}

func TestValidatePool(t *testing.T) {
	other := poolFrom(t, "gpu1-other", "{subnet: 172.16.0.0/16, ips: [172.16.11.100-172.16.11.150]}")
	elsewhere := poolFrom(t, "gpu2-net12", "{subnet: 172.17.0.0/16, ips: [172.17.11.100-172.17.11.150]}")
	narrow := poolFrom(t, "gpu3-narrow", "{subnet: 172.18.11.0/24, ips: [172.18.11.1-172.18.11.50]}")
	tests := []struct {
		name    string
		spec    string
		old     bool
		inUse   []string
		wantErr string
	}{
		{name: "valid", spec: "{subnet: 172.16.0.0/16, gateway: 172.16.11.254, ips: [172.16.11.1-172.16.11.99], routes: [{dst: 10.0.0.0/8, gw: 172.16.11.254}]}"},
		{name: "malformed subnet", spec: "{subnet: 172.16.11.0}",
			wantErr: `SpiderIPPool p: spec.subnet "172.16.11.0" is not a CIDR such as 172.16.11.0/24`},
		{name: "malformed ips and ranges", spec: "{subnet: 10.0.0.0/24, ips: [10.0.0.x, 10.0.0.9-10.0.0.3, '10.0.0.1-fd00::1'], excludeIPs: [nope]}",
			wantErr: `SpiderIPPool p: spec.ips[0]: "10.0.0.x" is not an IP address; spec.ips[1]: "10.0.0.9-10.0.0.3" ends before it starts: write the lower address first; spec.ips[2]: "10.0.0.1-fd00::1" mixes IPv4 and IPv6; spec.excludeIPs[0]: "nope" is not an IP address`},
		{name: "CIDR entries accepted, as the IPAM service reads them", spec: "{subnet: 10.0.0.0/24, ips: [10.0.0.0/25], excludeIPs: [10.0.0.0/30]}"},
		{name: "CIDR entry outside the subnet", spec: "{subnet: 10.0.0.0/24, ips: [10.0.0.0/23]}",
			wantErr: "SpiderIPPool p: spec.ips[0] 10.0.0.0/23 is outside spec.subnet 10.0.0.0/24"},
		{name: "ips and gateway outside subnet", spec: "{subnet: 10.0.0.0/24, gateway: 10.0.1.1, ips: [10.0.0.1-10.0.1.5]}",
			wantErr: "SpiderIPPool p: spec.ips[0] 10.0.0.1-10.0.1.5 is outside spec.subnet 10.0.0.0/24; spec.gateway 10.0.1.1 is outside spec.subnet 10.0.0.0/24"},
		{name: "bad gateway", spec: "{subnet: 10.0.0.0/24, gateway: gw}",
			wantErr: `SpiderIPPool p: spec.gateway "gw" is not an IP address`},
		{name: "gateway inside ips (defaulting bypassed)", spec: "{subnet: 10.0.0.0/24, gateway: 10.0.0.1, ips: [10.0.0.1-10.0.0.9]}",
			wantErr: "SpiderIPPool p: spec.gateway 10.0.0.1 is inside spec.ips; add it to spec.excludeIPs"},
		{name: "ipVersion mismatch", spec: "{ipVersion: 6, subnet: 10.0.0.0/24}",
			wantErr: "SpiderIPPool p: spec.ipVersion 6 does not match spec.subnet 10.0.0.0/24"},
		{name: "default and duplicate routes", spec: "{subnet: 10.0.0.0/24, routes: [{dst: 0.0.0.0/0, gw: 10.0.0.1}, {dst: 10.9.0.0/16, gw: 10.0.0.1}, {dst: 10.9.0.0/16, gw: 10.0.0.2}, {dst: x, gw: 'z'}, {dst: 10.8.0.0/16, gw: 10.1.0.1}]}",
			wantErr: `SpiderIPPool p: spec.routes[0].dst 0.0.0.0/0 is a default route; the pool's gateway (spec.gateway) is the default route, remove this entry; spec.routes[2].dst 10.9.0.0/16 repeats spec.routes[1]; keep one; spec.routes[3].dst "x" is not a CIDR; spec.routes[3].gw "z" is not an IP address; spec.routes[4].gw 10.1.0.1 is outside spec.subnet 10.0.0.0/24`},
		{name: "overlaps another pool on the same subnet", spec: "{subnet: 172.16.0.0/16, ips: [172.16.11.1-172.16.11.200]}",
			wantErr: "SpiderIPPool p: its addresses 172.16.11.100-172.16.11.150 are also SpiderIPPool gpu1-other's (spec.subnet 172.16.0.0/16, spec.ips 172.16.11.100-172.16.11.150); one address belongs to one pool: change spec.ips or spec.excludeIPs of one of them"},
		{name: "a /16 over another pool's /24 shares its addresses", spec: "{subnet: 172.18.0.0/16, ips: [172.18.11.40-172.18.11.60, 172.18.11.2]}",
			wantErr: "SpiderIPPool p: its addresses 172.18.11.2, 172.18.11.40-172.18.11.50 are also SpiderIPPool gpu3-narrow's (spec.subnet 172.18.11.0/24, spec.ips 172.18.11.1-172.18.11.50); one address belongs to one pool: change spec.ips or spec.excludeIPs of one of them"},
		{name: "excludeIPs keep the shared range out", spec: "{subnet: 172.18.0.0/16, ips: [172.18.11.40-172.18.11.60], excludeIPs: [172.18.11.40-172.18.11.50]}"},
		{name: "same addresses on another subnet's pool are still the same addresses", spec: "{subnet: 172.17.0.0/16, ips: [172.17.11.150]}",
			wantErr: "SpiderIPPool p: its addresses 172.17.11.150 are also SpiderIPPool gpu2-net12's (spec.subnet 172.17.0.0/16, spec.ips 172.17.11.100-172.17.11.150); one address belongs to one pool: change spec.ips or spec.excludeIPs of one of them"},
		{name: "shrinking below addresses in use", spec: "{subnet: 10.0.0.0/24, ips: [10.0.0.1-10.0.0.5], excludeIPs: [10.0.0.2]}", old: true,
			inUse:   []string{"10.0.0.3", "10.0.0.2", "10.0.0.7"},
			wantErr: "SpiderIPPool p: the change removes addresses still allocated to pods: 10.0.0.2, 10.0.0.7; delete those pods first or keep the addresses in spec.ips"},
		{name: "in-use addresses kept", spec: "{subnet: 10.0.0.0/24, ips: [10.0.0.1-10.0.0.9]}", old: true, inUse: []string{"10.0.0.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := poolFrom(t, "p", tt.spec)
			var old *spiderv2beta1.SpiderIPPool
			if tt.old {
				old = p.DeepCopy()
			}
			var inUse []netip.Addr
			for _, s := range tt.inUse {
				inUse = append(inUse, netip.MustParseAddr(s))
			}
			err := ValidatePool(p, old, []spiderv2beta1.SpiderIPPool{*other, *elsewhere, *narrow, *p}, inUse)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestValidatePoolDelete(t *testing.T) {
	p := poolFrom(t, "gpu1-net11", "{subnet: 10.0.0.0/24}")
	checkErr(t, ValidatePoolDelete(p, nil), "")
	checkErr(t, ValidatePoolDelete(p, []netip.Addr{netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("10.0.0.10")}),
		"SpiderIPPool gpu1-net11 still has 2 allocated address(es): 10.0.0.10, 10.0.0.9; delete the pods using them first")
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if err.Error() != want {
		t.Errorf("error =\n%s\nwant\n%s", err, want)
	}
}
