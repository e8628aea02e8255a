package discovery

import (
	"net/netip"
	"strings"
)

// GIDEntry is one used entry of an RDMA port's GID table, as sysfs shows it
// (gids/N, gid_attrs/types/N, gid_attrs/ndevs/N).
type GIDEntry struct {
	GID    string // fe80:0000:...:0940
	Type   string // "IB/RoCE v1", "RoCE v2"
	Netdev string
}

// GIDsPerInterface says how the kernel fills the port's GID table, from its
// used entries: perAddress is the number of GID types it adds for each IP
// address of a netdev (RoCE v1 and v2: 2), perInterface the entries one pod
// interface with one IPv4 address adds — its address plus, when netdev (the
// NIC's own) has an IPv6 link-local address, the interface's link-local
// one. Both are 0 when the table has no typed entry.
func GIDsPerInterface(used []GIDEntry, netdev string) (perAddress, perInterface int32) {
	var types []string
	linkLocal := false
	for _, e := range used {
		t := strings.TrimSpace(e.Type)
		if t == "" {
			continue
		}
		if !contains(types, t) {
			types = append(types, t)
		}
		if e.Netdev == netdev {
			if a, ok := parseGID(e.GID); ok && a.Is6() && !a.Is4In6() && a.IsLinkLocalUnicast() {
				linkLocal = true
			}
		}
	}
	perAddress = int32(len(types))
	perInterface = perAddress
	if linkLocal {
		perInterface += perAddress
	}
	return perAddress, perInterface
}

// parseGID reads sysfs's GID spelling (eight groups of four hex digits).
func parseGID(v string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	return a, err == nil
}
