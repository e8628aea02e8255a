package placement

import (
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/rails"
)

// Defaults for a NIC whose agent reports no GID layout (an older agent, or
// a port with no used entry yet): RoCE v1 and v2 per address, and an IPv6
// link-local address on every pod interface.
const (
	defaultGIDsPerAddress   = 2
	defaultGIDsPerInterface = 4
)

// GIDNeed is how many GID table entries one pod interface of rail r adds to
// nic's port, counted per address as the kernel populates RoCE GIDs (one
// entry per GID type for each address): an IPv4 address when the rail has
// IPv4 pools, an IPv6 global address when it has IPv6 pools, and the IPv6
// link-local address (always there with an IPv6 address, else when the
// agent saw one on the NIC's own netdev). fallback stands in for the
// per-interface count when the agent reports none.
func GIDNeed(nic *railnetv1.NIC, r rails.Rail, fallback int32) int32 {
	perAddr, perIntf := nic.GIDsPerAddress, nic.GIDsPerInterface
	if perAddr <= 0 || perIntf <= 0 {
		perAddr, perIntf = defaultGIDsPerAddress, fallback
		if perIntf <= 0 {
			perIntf = defaultGIDsPerInterface
		}
	}
	v4, v6 := len(r.PoolsV4) > 0, len(r.PoolsV6) > 0
	linkLocal := perIntf - perAddr // 0 or perAddr
	if v6 {
		linkLocal = perAddr
	}
	addrs := int32(0)
	if v4 || !v6 {
		addrs++
	}
	if v6 {
		addrs++
	}
	return addrs*perAddr + max(linkLocal, 0)
}
