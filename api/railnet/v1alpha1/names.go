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

// AllocationName is the IPAllocation name for address ip: the address with
// every separator written as a dash (IPv6 fully expanded), e.g.
// "172-16-11-5". The name depends on the address alone, not on its pool, so
// an address is held once in the whole cluster even where two pools share
// addresses (pools made before the webhook ran, or while it was down): the
// API server refuses the second IPAllocation of that name. It is a valid DNS
// subdomain, and two addresses never share a name (4 decimal or 8
// four-digit hex groups).
func AllocationName(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.StringExpanded(), ":", "-")
}
