package validate

import (
	"fmt"
	"net/netip"
	"strings"
)

// ipRange is an inclusive address range; a single IP has From == To.
type ipRange struct {
	From, To netip.Addr
	Text     string
}

func (r ipRange) contains(a netip.Addr) bool {
	return r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0
}

func (r ipRange) overlaps(o ipRange) bool {
	return r.From.Compare(o.To) <= 0 && o.From.Compare(r.To) <= 0
}

// parseRange reads "a" or "a-b".
func parseRange(s string) (ipRange, error) {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, err := netip.ParseAddr(strings.TrimSpace(from))
	if err != nil {
		return ipRange{}, fmt.Errorf("%q is not an IP address or a range a-b", s)
	}
	b := a
	if isRange {
		if b, err = netip.ParseAddr(strings.TrimSpace(to)); err != nil {
			return ipRange{}, fmt.Errorf("%q is not an IP address or a range a-b", s)
		}
		if a.Is4() != b.Is4() {
			return ipRange{}, fmt.Errorf("range %q mixes IPv4 and IPv6", s)
		}
		if b.Less(a) {
			return ipRange{}, fmt.Errorf("range %q ends before it starts", s)
		}
	}
	return ipRange{From: a.Unmap(), To: b.Unmap(), Text: s}, nil
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
