package ippool

import (
	"math"
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
