package placement

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
)

// span is an inclusive address range of one family.
type span struct{ lo, hi netip.Addr }

// spans is a sorted list of disjoint ranges.
type spans []span

// parseSpans reads SpiderIPPool ips/excludeIPs entries: "a", "a-b" or a CIDR.
func parseSpans(entries []string) (spans, error) {
	var out spans
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		var s span
		switch {
		case strings.Contains(e, "-"):
			a, b, _ := strings.Cut(e, "-")
			lo, err1 := netip.ParseAddr(strings.TrimSpace(a))
			hi, err2 := netip.ParseAddr(strings.TrimSpace(b))
			if err1 != nil || err2 != nil || lo.Is4() != hi.Is4() || hi.Less(lo) {
				return nil, fmt.Errorf("%q is not an address range first-last", e)
			}
			s = span{lo.Unmap(), hi.Unmap()}
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR: %w", e, err)
			}
			p = p.Masked()
			s = span{p.Addr(), lastAddr(p)}
		default:
			a, err := netip.ParseAddr(e)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address: %w", e, err)
			}
			s = span{a.Unmap(), a.Unmap()}
		}
		out = append(out, s)
	}
	return out.normalize(), nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 7; j >= 0; j-- {
			if i*8+(7-j) >= bits {
				b[i] |= 1 << j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (s spans) normalize() spans {
	slices.SortFunc(s, func(a, b span) int { return a.lo.Compare(b.lo) })
	var out spans
	for _, x := range s {
		if n := len(out); n > 0 && out[n-1].lo.Is4() == x.lo.Is4() {
			last := &out[n-1]
			if x.lo.Compare(last.hi) <= 0 || x.lo == last.hi.Next() {
				if last.hi.Less(x.hi) {
					last.hi = x.hi
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// minus removes every address of ex.
func (s spans) minus(ex spans) spans {
	var out spans
	for _, x := range s {
		cur := []span{x}
		for _, e := range ex {
			var next []span
			for _, c := range cur {
				if e.hi.Less(c.lo) || c.hi.Less(e.lo) || e.lo.Is4() != c.lo.Is4() {
					next = append(next, c)
					continue
				}
				if c.lo.Less(e.lo) {
					next = append(next, span{c.lo, e.lo.Prev()})
				}
				if e.hi.Less(c.hi) {
					next = append(next, span{e.hi.Next(), c.hi})
				}
			}
			cur = next
		}
		out = append(out, cur...)
	}
	return out
}

// contains reports whether a is in one of the ranges.
func (s spans) contains(a netip.Addr) bool {
	a = a.Unmap()
	i, _ := slices.BinarySearchFunc(s, a, func(x span, a netip.Addr) int {
		if x.hi.Less(a) {
			return -1
		}
		if a.Less(x.lo) {
			return 1
		}
		return 0
	})
	return i < len(s) && !a.Less(s[i].lo) && !s[i].hi.Less(a)
}

// maxCount caps address counts: a /64 has more addresses than any scheduler
// decision needs to tell apart.
const maxCount = int64(1) << 62

// count returns the number of addresses, capped at maxCount.
func (s spans) count() int64 {
	total := new(big.Int)
	for _, x := range s {
		d := new(big.Int).Sub(new(big.Int).SetBytes(x.hi.AsSlice()), new(big.Int).SetBytes(x.lo.AsSlice()))
		total.Add(total, d.Add(d, big.NewInt(1)))
		if total.Cmp(big.NewInt(maxCount)) >= 0 {
			return maxCount
		}
	}
	return total.Int64()
}
