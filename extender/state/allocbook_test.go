package state

import (
	"net/netip"
	"testing"
)

// A pool's count of usable addresses follows its spec's version: kept
// with the events while the version stays, counted anew for another
// version, and for none ("").
func TestAllocBookCountsPerSpecVersion(t *testing.T) {
	var b allocBook
	alloc := func(name, ip string) any {
		a, err := compactAllocation(ipAllocation(name, "1", "p", ip, "u-"+name))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	low := func(a netip.Addr) bool { return a.As4()[3] <= 2 } // .1 and .2
	all := func(netip.Addr) bool { return true }
	b.change(nil, alloc("a1", "10.0.0.1"))
	b.change(nil, alloc("a3", "10.0.0.3"))
	for _, step := range []struct {
		name    string
		change  func()
		version string
		usable  func(netip.Addr) bool
		want    int64
	}{
		{name: "first read", version: "v1", usable: low, want: 1},
		{name: "a usable address comes", change: func() { b.change(nil, alloc("a2", "10.0.0.2")) }, version: "v1", usable: low, want: 2},
		{name: "an unusable one comes", change: func() { b.change(nil, alloc("a4", "10.0.0.4")) }, version: "v1", usable: low, want: 2},
		{name: "a usable one goes", change: func() { b.change(alloc("a1", "10.0.0.1"), nil) }, version: "v1", usable: low, want: 1},
		{name: "same version, another set: the kept count", version: "v1", usable: all, want: 1},
		{name: "another version", version: "v2", usable: all, want: 3},
		{name: "no version", version: "", usable: low, want: 1},
		{name: "no version again, after a change", change: func() { b.change(nil, alloc("a1", "10.0.0.1")) }, version: "", usable: all, want: 4},
	} {
		if step.change != nil {
			step.change()
		}
		if n, _ := b.read("p", step.version, step.usable); n != step.want {
			t.Fatalf("%s: %d usable addresses, want %d", step.name, n, step.want)
		}
	}
}
