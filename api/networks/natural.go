package networks

import "strings"

// CompareNatural orders strings with embedded numbers by value, so rail NICs
// sort as people read them: eth2 before eth10, enp9s0 before enp11s0. It
// returns <0, 0 or >0 like strings.Compare. The webhook orders injected
// networks with it and the extender orders a pod's rails with it.
func CompareNatural(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			na, ra := leadingDigits(a)
			nb, rb := leadingDigits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) - len(tb)
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			if len(na) != len(nb) { // same value, fewer leading zeros first
				return len(na) - len(nb)
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func leadingDigits(s string) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
