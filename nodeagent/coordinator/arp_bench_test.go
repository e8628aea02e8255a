package coordinator_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/railnet/railnet/nodeagent/coordinator"
	"github.com/railnet/railnet/nodeagent/coordinator/coordinatortest"
)

// BenchmarkProbeGateway is one ARP reachability check of a gateway that
// answers (a real gateway namespace): the socket set-up, the request and
// the wait for the reply. Needs root.
func BenchmarkProbeGateway(b *testing.B) {
	n := coordinatortest.NewNode(b, 1)
	n.Macvlan(b, 1, "net1", netip.MustParsePrefix("172.16.11.10/24"))
	src, gw := netip.MustParseAddr("172.16.11.10"), netip.MustParseAddr("172.16.11.254")
	coordinatortest.Do(b, n.Pod, func() error {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := coordinator.Probe("net1", src, gw, time.Second, 200*time.Millisecond); err != nil || !ok {
				b.Fatalf("gateway did not answer: %v", err)
			}
		}
		return nil
	})
}
