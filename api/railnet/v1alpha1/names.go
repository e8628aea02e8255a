package v1alpha1

import (
	"net/netip"
	"strings"
)

// Labels railnet puts on IPAllocations so the IPAM service, its garbage
// collector and the pool reconciler can select them.
const (
	LabelPool   = "railnet.io/pool"
	LabelNode   = "railnet.io/node"
	LabelPodUID = "railnet.io/pod-uid"
)

// AllocationName is the IPAllocation name for address ip of pool: the pool
// name, a dot, then the address with every separator written as a dash
// (IPv6 fully expanded), e.g. "gpu1-net11.172-16-11-5". It is a valid DNS
// subdomain for every valid pool name of at most 200 characters, and two
// different (pool, address) pairs never share a name: the address part has a
// fixed shape (4 decimal or 8 four-digit hex groups) and contains no dot.
func AllocationName(pool string, ip netip.Addr) string {
	ip = ip.Unmap()
	var addr string
	if ip.Is4() {
		addr = strings.ReplaceAll(ip.String(), ".", "-")
	} else {
		addr = strings.ReplaceAll(ip.StringExpanded(), ":", "-")
	}
	return pool + "." + addr
}
