package v1alpha1

import (
	"net/netip"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestAllocationName(t *testing.T) {
	tests := []struct {
		pool, ip, want string
	}{
		{"gpu1-net11", "172.16.11.5", "gpu1-net11.172-16-11-5"},
		{"v6", "fd00::1", "v6.fd00-0000-0000-0000-0000-0000-0000-0001"},
		{"mapped", "::ffff:10.0.0.1", "mapped.10-0-0-1"},
	}
	for _, tt := range tests {
		got := AllocationName(tt.pool, netip.MustParseAddr(tt.ip))
		if got != tt.want {
			t.Errorf("AllocationName(%q, %s) = %q, want %q", tt.pool, tt.ip, got, tt.want)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("AllocationName(%q, %s) = %q is not a valid object name: %v", tt.pool, tt.ip, got, errs)
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
