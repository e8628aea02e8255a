package alloc

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/ippool"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestCandidatesVisitEveryAddressOnceFromAKeyedStart(t *testing.T) {
	set, err := ippool.Parse([]string{"10.0.0.1-10.0.0.5", "10.0.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	var a, b []string
	for ip := range candidates(set, "pod-a/net1") {
		a = append(a, ip.String())
	}
	for ip := range candidates(set, "pod-a/net1") {
		b = append(b, ip.String())
	}
	if !slices.Equal(a, b) {
		t.Fatalf("the same key gave two orders: %v and %v", a, b)
	}
	sorted := slices.Clone(a)
	slices.Sort(sorted)
	if want := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.9"}; !slices.Equal(sorted, want) {
		t.Fatalf("candidates = %v, want each of %v once", a, want)
	}
	starts := map[string]bool{}
	for i := range 50 {
		for ip := range candidates(set, "pod-"+strings.Repeat("x", i)) {
			starts[ip.String()] = true
			break
		}
	}
	if len(starts) < 4 {
		t.Fatalf("50 keys started at only %d distinct addresses: agents would collide", len(starts))
	}
	for range candidates(ippool.Set{}, "k") {
		t.Fatal("an empty pool yielded an address")
	}
}

func TestAddress(t *testing.T) {
	gw := "172.16.11.254"
	pool := &spiderv2beta1.SpiderIPPool{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu1-net11"},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: "172.16.11.0/24", Gateway: &gw,
			Routes: []spiderv2beta1.Route{{Dst: "10.100.0.0/16", Gw: "172.16.11.253"}}},
	}
	got, err := address(pool, "172.16.11.10")
	if err != nil {
		t.Fatal(err)
	}
	if got.IP != netip.MustParsePrefix("172.16.11.10/24") || got.Gateway != netip.MustParseAddr(gw) ||
		len(got.Routes) != 1 || got.Routes[0].Dst != netip.MustParsePrefix("10.100.0.0/16") {
		t.Fatalf("address = %+v", got)
	}
	pool.Spec.Routes[0].Gw = "nope"
	if _, err := address(pool, "172.16.11.10"); err == nil || !strings.Contains(err.Error(), "SpiderIPPool gpu1-net11: route 10.100.0.0/16 via nope is malformed") {
		t.Fatalf("bad route: %v", err)
	}
}

func TestExhaustedErrorNamesPoolsAndWhatToDo(t *testing.T) {
	e := &ExhaustedError{Pod: "train/trainer-0", IfName: "net1", Reasons: []string{"SpiderIPPool gpu1-net11 has no free address: 200 of 200 in use"}}
	want := "no address for net1 of pod train/trainer-0: SpiderIPPool gpu1-net11 has no free address: 200 of 200 in use; free addresses (delete unused pods or widen spec.ips) or name another pool"
	if e.Error() != want {
		t.Fatalf("got %q\nwant %q", e.Error(), want)
	}
}
