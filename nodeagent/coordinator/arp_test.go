package coordinator

import (
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/arp"
)

func TestARPAnswers(t *testing.T) {
	own := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	other := net.HardwareAddr{2, 0, 0, 0, 0, 2}
	target := netip.MustParseAddr("172.16.11.10")
	for _, tc := range []struct {
		name string
		p    arp.Packet
		want bool
	}{
		{"reply from the target", arp.Packet{Operation: arp.OperationReply, SenderHardwareAddr: other, SenderIP: target}, true},
		{"another station probing or announcing it", arp.Packet{Operation: arp.OperationRequest, SenderHardwareAddr: other, SenderIP: target}, true},
		{"our own request looped back", arp.Packet{Operation: arp.OperationRequest, SenderHardwareAddr: own, SenderIP: target}, false},
		{"reply about another address", arp.Packet{Operation: arp.OperationReply, SenderHardwareAddr: other, SenderIP: netip.MustParseAddr("172.16.11.11")}, false},
		{"unknown operation", arp.Packet{Operation: 9, SenderHardwareAddr: other, SenderIP: target}, false},
	} {
		if got := answers(&tc.p, target, own); got != tc.want {
			t.Errorf("%s: answers = %v, want %v", tc.name, got, tc.want)
		}
	}
}
