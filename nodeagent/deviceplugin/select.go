package deviceplugin

import (
	"slices"
	"strings"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// Matches reports whether a NIC passes the selectors: every non-empty list
// must contain the NIC's value.
func (s Selectors) Matches(n *railnetv1.NIC) bool {
	if n.RDMADevice == "" {
		return false
	}
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(s.Vendors, strings.ToLower(n.VendorID)) &&
		in(s.DeviceIDs, strings.ToLower(n.DeviceID)) &&
		in(s.Drivers, n.Driver) &&
		in(s.IfNames, n.Netdev) &&
		in(s.LinkTypes, n.LinkLayer)
}

// Select returns the NICs a resource's selectors match, in input order.
func Select(s Selectors, nics []railnetv1.NIC) []railnetv1.NIC {
	var out []railnetv1.NIC
	for i := range nics {
		if s.Matches(&nics[i]) {
			out = append(out, nics[i])
		}
	}
	return out
}
