package discovery

import "testing"

// The kernel adds one GID per RoCE type (v1, v2) for every address of a
// netdev on the port: a pod interface with one IPv4 address and an IPv6
// link-local address takes 4 entries, not 2.
func TestGIDsPerInterface(t *testing.T) {
	const (
		v1, v2 = "IB/RoCE v1", "RoCE v2"
		ll     = "fe80:0000:0000:0000:ba3f:d2ff:fe9f:0940"
		v4     = "0000:0000:0000:0000:0000:ffff:ac10:0bfe"
		global = "fd00:0011:0000:0000:0000:0000:0000:0010"
		podLL  = "fe80:0000:0000:0000:0c1e:44ff:fe01:0001"
	)
	e := func(gid, typ, nd string) GIDEntry { return GIDEntry{GID: gid, Type: typ, Netdev: nd} }
	tests := []struct {
		name               string
		used               []GIDEntry
		wantAddr, wantIntf int32
	}{
		{name: "seed NIC: IPv4 and link-local, v1 and v2", used: []GIDEntry{e(ll, v1, "eth1"), e(ll, v2, "eth1"), e(v4, v1, "eth1"), e(v4, v2, "eth1")},
			wantAddr: 2, wantIntf: 4},
		{name: "IPv6 disabled: IPv4 only", used: []GIDEntry{e(v4, v1, "eth1"), e(v4, v2, "eth1")}, wantAddr: 2, wantIntf: 2},
		{name: "an IPv6 global address on the NIC is not the pod's", used: []GIDEntry{e(ll, v1, "eth1"), e(ll, v2, "eth1"), e(global, v1, "eth1"), e(global, v2, "eth1")},
			wantAddr: 2, wantIntf: 4},
		{name: "link-local of another netdev (a pod's macvlan) does not say the NIC has one",
			used: []GIDEntry{e(v4, v1, "eth1"), e(v4, v2, "eth1"), e(podLL, v1, "net1"), e(podLL, v2, "net1")}, wantAddr: 2, wantIntf: 2},
		{name: "one GID type", used: []GIDEntry{e(ll, v2, "eth1"), e(v4, v2, "eth1")}, wantAddr: 1, wantIntf: 2},
		{name: "nothing observed", wantAddr: 0, wantIntf: 0},
		{name: "untyped entries (InfiniBand)", used: []GIDEntry{e(ll, "", "")}, wantAddr: 0, wantIntf: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, i := GIDsPerInterface(tt.used, "eth1")
			if a != tt.wantAddr || i != tt.wantIntf {
				t.Errorf("GIDsPerInterface = %d per address, %d per interface; want %d, %d", a, i, tt.wantAddr, tt.wantIntf)
			}
		})
	}
}
