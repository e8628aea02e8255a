package ippool

import (
	"fmt"
	"iter"
	"math"
	"math/big"
	"net/netip"
	"slices"
	"strings"
)

// Range is an inclusive range of addresses of one family.
type Range struct{ First, Last netip.Addr }

// Set is a sorted list of disjoint, non-adjacent ranges.
type Set []Range

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
func LastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func normalize(s Set) Set {
	slices.SortFunc(s, func(a, b Range) int { return a.First.Compare(b.First) })
	out := s[:0]
	for _, r := range s {
		if n := len(out); n > 0 && out[n-1].Last.Is4() == r.First.Is4() &&
			(!out[n-1].Last.Less(r.First) || out[n-1].Last.Next() == r.First) {
			if out[n-1].Last.Less(r.Last) {
				out[n-1].Last = r.Last
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// Minus returns the addresses of s that are not in o.
func (s Set) Minus(o Set) Set {
	var out Set
	for _, r := range s {
		cur := []Range{r}
		for _, x := range o {
			var next []Range
			for _, c := range cur {
				if x.Last.Less(c.First) || c.Last.Less(x.First) || x.First.Is4() != c.First.Is4() {
					next = append(next, c)
					continue
				}
				if c.First.Less(x.First) {
					next = append(next, Range{c.First, x.First.Prev()})
				}
				if x.Last.Less(c.Last) {
					next = append(next, Range{x.Last.Next(), c.Last})
				}
			}
			cur = next
		}
		out = append(out, cur...)
	}
	return normalize(out)
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
func (s Set) Intersect(o Set) Set { return s.Minus(s.Minus(o)) }

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

// Overlaps returns the first address in both sets, if any.
func (s Set) Overlaps(o Set) (netip.Addr, bool) {
	for _, a := range s {
		for _, b := range o {
			if a.First.Is4() != b.First.Is4() || a.Last.Less(b.First) || b.Last.Less(a.First) {
				continue
			}
			if a.First.Less(b.First) {
				return b.First, true
			}
			return a.First, true
		}
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
