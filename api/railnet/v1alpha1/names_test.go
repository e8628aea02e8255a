package v1alpha1

import (
	"net/netip"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestAllocationName(t *testing.T) {
	tests := []struct {
		ip, want string
	}{
		{"172.16.11.5", "172-16-11-5"},
		{"fd00::1", "fd00-0000-0000-0000-0000-0000-0000-0001"},
		{"::ffff:10.0.0.1", "10-0-0-1"},
		{"::a00:1", "0000-0000-0000-0000-0000-0000-0a00-0001"}, // not 10.0.0.1
	}
	for _, tt := range tests {
		got := AllocationName(netip.MustParseAddr(tt.ip))
		if got != tt.want {
			t.Errorf("AllocationName(%s) = %q, want %q", tt.ip, got, tt.want)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("AllocationName(%s) = %q is not a valid object name: %v", tt.ip, got, errs)
		}
	}
}

func TestNICUp(t *testing.T) {
	tests := []struct {
		nic  NIC
		want bool
	}{
		{NIC{LinkState: "up", RDMADevice: "mlx5_0", PortState: "ACTIVE"}, true},
		{NIC{LinkState: "up", RDMADevice: "mlx5_0", PortState: "DOWN"}, false},
		{NIC{LinkState: "down", RDMADevice: "mlx5_0", PortState: "ACTIVE"}, false},
		{NIC{LinkState: "up"}, true},
	}
	for _, tt := range tests {
		if got := tt.nic.Up(); got != tt.want {
			t.Errorf("%+v.Up() = %v, want %v", tt.nic, got, tt.want)
		}
	}
}
