package placement

import (
	"testing"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/rails"
)

// A pod interface takes one GID entry per RoCE type for each of its
// addresses: IPv4, IPv6 link-local, IPv6 global.
func TestGIDNeed(t *testing.T) {
	v4 := rails.Rail{Network: "spiderpool/gpu1-macvlan", PoolsV4: []string{"gpu1-net11"}}
	v6 := rails.Rail{Network: "spiderpool/gpu1-macvlan", PoolsV6: []string{"gpu1-v6"}}
	dual := rails.Rail{Network: "spiderpool/gpu1-macvlan", PoolsV4: []string{"gpu1-net11"}, PoolsV6: []string{"gpu1-v6"}}
	seen := func(perAddr, perIntf int32) *railnetv1.NIC {
		return &railnetv1.NIC{Netdev: "eth1", GIDsPerAddress: perAddr, GIDsPerInterface: perIntf}
	}
	tests := []struct {
		name     string
		nic      *railnetv1.NIC
		rail     rails.Rail
		fallback int32
		want     int32
	}{
		{name: "IPv4 + link-local, v1 and v2 (the seed's NICs)", nic: seen(2, 4), rail: v4, want: 4},
		{name: "IPv4 without IPv6 on the node", nic: seen(2, 2), rail: v4, want: 2},
		{name: "dual stack: IPv4, link-local, IPv6 global", nic: seen(2, 4), rail: dual, want: 6},
		{name: "IPv6 only: link-local and global", nic: seen(2, 4), rail: v6, want: 4},
		{name: "IPv6 brings a link-local even where the NIC has none", nic: seen(2, 2), rail: v6, want: 4},
		{name: "one GID type", nic: seen(1, 2), rail: dual, want: 3},
		{name: "not reported: safe default", nic: seen(0, 0), rail: v4, want: 4},
		{name: "not reported, dual stack", nic: seen(0, 0), rail: dual, want: 6},
		{name: "not reported, fallback set", nic: seen(0, 0), rail: v4, fallback: 2, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GIDNeed(tt.nic, tt.rail, tt.fallback); got != tt.want {
				t.Errorf("GIDNeed = %d, want %d", got, tt.want)
			}
		})
	}
}
