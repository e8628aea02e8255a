package networks

import (
	"slices"
	"testing"
)

func TestCompareNatural(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"eth2", "eth10", -1},
		{"eth10", "eth2", 1},
		{"eth2", "eth2", 0},
		{"enp9s0f0np0", "enp11s0f0np0", -1},
		{"enp11s0f0np0", "enp11s0f1np1", -1},
		{"eth02", "eth2", 1},
		{"eth", "eth0", -1},
		{"a", "b", -1},
		{"", "a", -1},
	}
	for _, tt := range tests {
		got := CompareNatural(tt.a, tt.b)
		if sign(got) != tt.want {
			t.Errorf("CompareNatural(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
	in := []string{"eth10", "eth2", "eth1", "eth11", "eth3"}
	slices.SortFunc(in, CompareNatural)
	if want := []string{"eth1", "eth2", "eth3", "eth10", "eth11"}; !slices.Equal(in, want) {
		t.Errorf("sorted = %v, want %v", in, want)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
