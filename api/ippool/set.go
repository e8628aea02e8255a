package ippool

import (
	"fmt"
	"iter"
	"math"
	"math/big"
	"net/netip"
	"slices"
	"strings"

	"go4.org/netipx"
)

// Range is an inclusive range of addresses of one family.
type Range struct{ First, Last netip.Addr }

func (r Range) ipRange() netipx.IPRange { return netipx.IPRangeFrom(r.First, r.Last) }

// Set is a sorted list of disjoint, non-adjacent ranges.
type Set []Range

// builder holds the ranges of s in a netipx set builder.
func (s Set) builder() *netipx.IPSetBuilder {
	var b netipx.IPSetBuilder
	for _, r := range s {
		b.AddRange(r.ipRange())
	}
	return &b
}

// fromBuilder is the set b describes, as sorted, disjoint, non-adjacent
// ranges. Ranges that are not valid (ends of two families, or the last
// before the first) are left out: Parse never makes one.
func fromBuilder(b *netipx.IPSetBuilder) Set {
	ipset, _ := b.IPSet() // the error lists invalid ranges, which are dropped
	rs := ipset.Ranges()
	if len(rs) == 0 {
		return nil
	}
	out := make(Set, len(rs))
	for i, r := range rs {
		out[i] = Range{r.From(), r.To()}
	}
	return out
}

// Parse reads SpiderIPPool `ips` / `excludeIPs` entries: "a", "a-b" or a
// CIDR. The error names the entry and the form it should have.
func Parse(entries []string) (Set, error) {
	var out Set
	for _, e := range entries {
		r, err := ParseEntry(e)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return normalize(out), nil
}

// ParseEntry reads one entry.
func ParseEntry(e string) (Range, error) {
	e = strings.TrimSpace(e)
	switch {
	case strings.Contains(e, "-"):
		a, b, _ := strings.Cut(e, "-")
		first, err1 := netip.ParseAddr(strings.TrimSpace(a))
		last, err2 := netip.ParseAddr(strings.TrimSpace(b))
		if err1 != nil || err2 != nil {
			return Range{}, fmt.Errorf("%q is not an address range: write first-last, e.g. 172.16.11.1-172.16.11.200", e)
		}
		first, last = first.Unmap(), last.Unmap()
		if first.Is4() != last.Is4() {
			return Range{}, fmt.Errorf("%q mixes IPv4 and IPv6", e)
		}
		if last.Less(first) {
			return Range{}, fmt.Errorf("%q ends before it starts: write the lower address first", e)
		}
		return Range{first, last}, nil
	case strings.Contains(e, "/"):
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return Range{}, fmt.Errorf("%q is not a CIDR: %w", e, err)
		}
		p = p.Masked()
		return Range{p.Addr(), LastAddr(p)}, nil
	default:
		a, err := netip.ParseAddr(e)
		if err != nil {
			return Range{}, fmt.Errorf("%q is not an IP address", e)
		}
		return Range{a.Unmap(), a.Unmap()}, nil
	}
}

// LastAddr is the highest address of p.
func LastAddr(p netip.Prefix) netip.Addr { return netipx.PrefixLastIP(p.Masked()) }

func normalize(s Set) Set { return fromBuilder(s.builder()) }

// Minus returns the addresses of s that are not in o.
func (s Set) Minus(o Set) Set {
	b := s.builder()
	for _, r := range o {
		b.RemoveRange(r.ipRange())
	}
	return fromBuilder(b)
}

// Contains reports whether a is in s.
func (s Set) Contains(a netip.Addr) bool {
	a = a.Unmap()
	i, _ := slices.BinarySearchFunc(s, a, func(r Range, a netip.Addr) int {
		if r.Last.Less(a) {
			return -1
		}
		if a.Less(r.First) {
			return 1
		}
		return 0
	})
	return i < len(s) && !a.Less(s[i].First) && !s[i].Last.Less(a)
}

// Intersect returns the addresses in both s and o.
func (s Set) Intersect(o Set) Set {
	b := s.builder()
	ox, _ := o.builder().IPSet()
	b.Intersect(ox)
	return fromBuilder(b)
}

// String writes the set as its ranges ("a-b", or "a" for one address),
// comma-separated; after the first three ranges it says how many more.
func (s Set) String() string {
	var parts []string
	for i, r := range s {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more ranges", len(s)-3))
			break
		}
		if r.First == r.Last {
			parts = append(parts, r.First.String())
		} else {
			parts = append(parts, r.First.String()+"-"+r.Last.String())
		}
	}
	return strings.Join(parts, ", ")
}

// Overlaps returns the lowest address in both sets, if any.
func (s Set) Overlaps(o Set) (netip.Addr, bool) {
	if both := s.Intersect(o); len(both) > 0 {
		return both[0].First, true
	}
	return netip.Addr{}, false
}

// size of one range, saturating at MaxUint64.
func (r Range) size() uint64 {
	d := new(big.Int).Sub(new(big.Int).SetBytes(r.Last.AsSlice()), new(big.Int).SetBytes(r.First.AsSlice()))
	d.Add(d, big.NewInt(1))
	if !d.IsUint64() {
		return math.MaxUint64
	}
	return d.Uint64()
}

// Count is the number of addresses in s, saturating at MaxUint64 (an IPv6
// /64 pool is, for every purpose here, unlimited).
func (s Set) Count() uint64 {
	var n uint64
	for _, r := range s {
		sz := r.size()
		if n+sz < n {
			return math.MaxUint64
		}
		n += sz
	}
	return n
}

// Nth returns the i-th address of s (0-based), or false past the end.
func (s Set) Nth(i uint64) (netip.Addr, bool) {
	for _, r := range s {
		sz := r.size()
		if i < sz {
			return addOffset(r.First, i), true
		}
		i -= sz
	}
	return netip.Addr{}, false
}

// All yields every address of s in order.
func (s Set) All() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		for _, r := range s {
			for a := r.First; ; a = a.Next() {
				if !yield(a) || a == r.Last {
					break
				}
			}
		}
	}
}

func addOffset(a netip.Addr, off uint64) netip.Addr {
	v := new(big.Int).SetBytes(a.AsSlice())
	v.Add(v, new(big.Int).SetUint64(off))
	b := v.FillBytes(make([]byte, len(a.AsSlice())))
	out, _ := netip.AddrFromSlice(b)
	return out
}
