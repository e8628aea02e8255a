package validate

import (
	"net/netip"

	"github.com/railnet/railnet/api/ippool"
)

// ipRange is one parsed `ips`/`excludeIPs` entry with its original text.
type ipRange struct {
	ippool.Range
	Text string
}

func (r ipRange) contains(a netip.Addr) bool {
	a = a.Unmap()
	return !a.Less(r.First) && !r.Last.Less(a)
}

func (r ipRange) overlaps(o ipRange) bool {
	_, ok := ippool.Set{r.Range}.Overlaps(ippool.Set{o.Range})
	return ok
}

// parseRange reads one entry with the syntax the IPAM service uses
// ("a", "a-b" or a CIDR).
func parseRange(s string) (ipRange, error) {
	r, err := ippool.ParseEntry(s)
	if err != nil {
		return ipRange{}, err
	}
	return ipRange{Range: r, Text: s}, nil
}

// parseRanges reads a list, ignoring malformed entries (validation reports
// them).
func parseRanges(list []string) []ipRange {
	var out []ipRange
	for _, s := range list {
		if r, err := parseRange(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}

func anyContains(rs []ipRange, a netip.Addr) bool {
	for _, r := range rs {
		if r.contains(a) {
			return true
		}
	}
	return false
}
