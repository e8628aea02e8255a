package ippool

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestParse(t *testing.T) {
	tests := []struct {
		entries []string
		want    string // ranges joined by ","
		wantErr string
	}{
		{entries: []string{"172.16.11.1-172.16.11.200"}, want: "172.16.11.1-172.16.11.200"},
		{entries: []string{"10.0.0.5", "10.0.0.1-10.0.0.4", "10.0.0.6/31"}, want: "10.0.0.1-10.0.0.7"},
		{entries: []string{"10.0.0.9", "10.0.0.1"}, want: "10.0.0.1-10.0.0.1,10.0.0.9-10.0.0.9"},
		{entries: []string{"fd00::1-fd00::ff", "10.0.0.1"}, want: "10.0.0.1-10.0.0.1,fd00::1-fd00::ff"},
		{entries: []string{"10.0.0.9-10.0.0.1"}, wantErr: `"10.0.0.9-10.0.0.1" ends before it starts`},
		{entries: []string{"10.0.0.1-fd00::1"}, wantErr: "mixes IPv4 and IPv6"},
		{entries: []string{"10.0.0.300"}, wantErr: `"10.0.0.300" is not an IP address`},
		{entries: []string{"10.0.0.1-x"}, wantErr: "write first-last"},
		{entries: []string{"10.0.0.0/33"}, wantErr: "is not a CIDR"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.entries)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%v) error = %v, want %q", tt.entries, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%v): %v", tt.entries, err)
			continue
		}
		if s := format(got); s != tt.want {
			t.Errorf("Parse(%v) = %s, want %s", tt.entries, s, tt.want)
		}
	}
}

func TestSetArithmetic(t *testing.T) {
	s := must(t, "10.0.0.1-10.0.0.10")
	ex := must(t, "10.0.0.3", "10.0.0.5-10.0.0.6", "10.0.0.10-10.0.0.20", "fd00::1")
	got := s.Minus(ex)
	if f := format(got); f != "10.0.0.1-10.0.0.2,10.0.0.4-10.0.0.4,10.0.0.7-10.0.0.9" {
		t.Fatalf("Minus = %s", f)
	}
	if got.Count() != 6 {
		t.Fatalf("Count = %d, want 6", got.Count())
	}
	var all []string
	for a := range got.All() {
		all = append(all, a.String())
	}
	want := []string{"10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.7", "10.0.0.8", "10.0.0.9"}
	if !slices.Equal(all, want) {
		t.Fatalf("All = %v, want %v", all, want)
	}
	for i, w := range want {
		if a, ok := got.Nth(uint64(i)); !ok || a.String() != w {
			t.Fatalf("Nth(%d) = %s %v, want %s", i, a, ok, w)
		}
	}
	if _, ok := got.Nth(6); ok {
		t.Fatal("Nth past the end succeeded")
	}
	for _, a := range want {
		if !got.Contains(netip.MustParseAddr(a)) {
			t.Errorf("Contains(%s) = false", a)
		}
	}
	for _, a := range []string{"10.0.0.3", "10.0.0.10", "10.0.0.0", "fd00::1"} {
		if got.Contains(netip.MustParseAddr(a)) {
			t.Errorf("Contains(%s) = true", a)
		}
	}
	if a, ok := got.Overlaps(must(t, "10.0.0.8-10.0.1.0")); !ok || a.String() != "10.0.0.8" {
		t.Errorf("Overlaps = %s %v, want 10.0.0.8", a, ok)
	}
	if _, ok := got.Overlaps(must(t, "10.0.0.3", "fd00::/64")); ok {
		t.Error("Overlaps found an address in disjoint sets")
	}
	if n := must(t, "fd00::/56").Count(); n != math.MaxUint64 {
		t.Errorf("Count of an IPv6 /56 = %d, want saturation", n)
	}
}

func TestUsableAndServesNode(t *testing.T) {
	gw := "172.16.11.254"
	yes, no := true, false
	pool := &spiderv2beta1.SpiderIPPool{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu1-net11"},
		Spec: spiderv2beta1.IPPoolSpec{
			Subnet: "172.16.11.0/24", Gateway: &gw,
			IPs: []string{"172.16.11.250-172.16.11.254"}, ExcludeIPs: []string{"172.16.11.251"},
		},
	}
	u, err := Usable(pool)
	if err != nil {
		t.Fatal(err)
	}
	if f := format(u); f != "172.16.11.250-172.16.11.250,172.16.11.252-172.16.11.253" {
		t.Fatalf("Usable = %s (gateway and excludeIPs must be left out)", f)
	}
	pool.Spec.ExcludeIPs = []string{"nope"}
	if _, err := Usable(pool); err == nil || !strings.Contains(err.Error(), `SpiderIPPool gpu1-net11: spec.excludeIPs: "nope" is not an IP address`) {
		t.Fatalf("Usable with a bad exclude: %v", err)
	}

	tests := []struct {
		name    string
		spec    func(*spiderv2beta1.IPPoolSpec)
		wantErr string
	}{
		{name: "open pool", spec: func(*spiderv2beta1.IPPoolSpec) {}},
		{name: "enabled", spec: func(s *spiderv2beta1.IPPoolSpec) { s.Disable = &no }},
		{name: "disabled", spec: func(s *spiderv2beta1.IPPoolSpec) { s.Disable = &yes }, wantErr: "SpiderIPPool gpu1-net11 is disabled (spec.disable: true)"},
		{name: "listed node", spec: func(s *spiderv2beta1.IPPoolSpec) { s.NodeName = []string{"worker1", "worker2"} }},
		{name: "other nodes", spec: func(s *spiderv2beta1.IPPoolSpec) { s.NodeName = []string{"worker2"} }, wantErr: "serves only nodes [worker2] (spec.nodeName), not worker1"},
		{name: "affinity matches", spec: func(s *spiderv2beta1.IPPoolSpec) {
			s.NodeAffinity = &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "a"}}
		}},
		{name: "affinity does not match", spec: func(s *spiderv2beta1.IPPoolSpec) {
			s.NodeAffinity = &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "b"}}
		}, wantErr: "node worker1 does not match spec.nodeAffinity rack=b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: "gpu1-net11"}}
			tt.spec(&p.Spec)
			err := ServesNode(p, "worker1", map[string]string{"rack": "a"})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("ServesNode = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func must(t *testing.T, entries ...string) Set {
	t.Helper()
	s, err := Parse(entries)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func format(s Set) string {
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = r.First.String() + "-" + r.Last.String()
	}
	return strings.Join(parts, ",")
}

func TestIntersectAndString(t *testing.T) {
	mustParse := func(entries ...string) Set {
		s, err := Parse(entries)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		a, b []string
		want string
	}{
		{[]string{"10.0.0.1-10.0.0.50"}, []string{"10.0.0.40-10.0.0.60", "10.0.0.2"}, "10.0.0.2, 10.0.0.40-10.0.0.50"},
		{[]string{"10.0.0.0/24"}, []string{"10.0.1.0/24"}, ""},
		{[]string{"10.0.0.1-10.0.0.9"}, []string{"fd00::1-fd00::9"}, ""}, // families never meet
		{[]string{"10.0.0.0/24"}, []string{"10.0.0.1", "10.0.0.3", "10.0.0.5", "10.0.0.7", "10.0.0.9"},
			"10.0.0.1, 10.0.0.3, 10.0.0.5, and 2 more ranges"},
	}
	for _, tt := range tests {
		if got := mustParse(tt.a...).Intersect(mustParse(tt.b...)).String(); got != tt.want {
			t.Errorf("%v ∩ %v = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

// BenchmarkMinus: a pool's ips minus n excludeIPs ranges, as Usable
// computes it for every pool on every filter and allocation.
func BenchmarkMinus(b *testing.B) {
	for _, n := range []int{1, 10, 200} {
		ips, err := Parse([]string{"10.1.0.1-10.1.255.253"})
		if err != nil {
			b.Fatal(err)
		}
		var entries []string
		for i := range n {
			entries = append(entries, fmt.Sprintf("10.1.%d.1-10.1.%d.10", i, i))
		}
		ex, err := Parse(entries)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("exclude%d", n), func(b *testing.B) {
			for b.Loop() {
				if got := ips.Minus(ex); got.Count() != 65533-10*uint64(n) {
					b.Fatal(got.Count())
				}
			}
		})
	}
}

// TestSetAlgebraMatchesEnumeration checks Parse, Minus, Intersect and
// Overlaps against plain address maps on random sets of 10.0.0.0/26 and
// fd00::/122, both families mixed.
func TestSetAlgebraMatchesEnumeration(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	addr := func(v6 bool, i int) netip.Addr {
		if v6 {
			return netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(i)})
		}
		return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
	}
	random := func() (Set, map[netip.Addr]bool) {
		in := map[netip.Addr]bool{}
		var entries []string
		for range rnd.IntN(5) {
			v6, a := rnd.IntN(2) == 0, rnd.IntN(64)
			b := min(a+rnd.IntN(8), 63)
			entries = append(entries, addr(v6, a).String()+"-"+addr(v6, b).String())
			for i := a; i <= b; i++ {
				in[addr(v6, i)] = true
			}
		}
		return must(t, entries...), in
	}
	for range 500 {
		s, sIn := random()
		o, oIn := random()
		minus, both := s.Minus(o), s.Intersect(o)
		var lowest netip.Addr
		for _, v6 := range []bool{false, true} {
			for i := range 64 {
				a := addr(v6, i)
				if s.Contains(a) != sIn[a] || minus.Contains(a) != (sIn[a] && !oIn[a]) || both.Contains(a) != (sIn[a] && oIn[a]) {
					t.Fatalf("%s and %s at %s: Minus %s, Intersect %s", s, o, a, minus, both)
				}
				if sIn[a] && oIn[a] && !lowest.IsValid() {
					lowest = a
				}
			}
		}
		if a, ok := s.Overlaps(o); ok != lowest.IsValid() || a != lowest {
			t.Fatalf("Overlaps(%s, %s) = %s %v, want %s", s, o, a, ok, lowest)
		}
		for i := 1; i < len(minus); i++ {
			if prev := minus[i-1].Last; prev.Is4() == minus[i].First.Is4() && !prev.Next().Less(minus[i].First) {
				t.Fatalf("Minus %s: ranges %d and %d touch or overlap", minus, i-1, i)
			}
		}
	}
}
