package v2beta1

import (
	"slices"

	"github.com/railnet/railnet/api/networks"
)

// RailMasters returns the rail masters the specs name: every
// macvlan/ipvlan/ipoib master, de-duplicated, in natural order (eth2 before
// eth10). A master's position is its rail index, for the node agent
// (discovery) and the webhook (a DRA-mode group's network) alike.
func RailMasters(specs []*MultusCNIConfigSpec) []string {
	var out []string
	for _, s := range specs {
		for _, m := range s.Masters() {
			if m != "" && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	slices.SortFunc(out, networks.CompareNatural)
	return out
}
