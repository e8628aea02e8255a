package deviceplugin

import (
	"testing"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

func TestSelectorsMatch(t *testing.T) {
	cx5 := railnetv1.NIC{Netdev: "enp11s0f0np0", RDMADevice: "mlx5_0", VendorID: "15b3", DeviceID: "1017", Driver: "mlx5_core", LinkLayer: "Ethernet"}
	ib := railnetv1.NIC{Netdev: "ib0", RDMADevice: "mlx5_9", VendorID: "15b3", DeviceID: "101b", Driver: "mlx5_core", LinkLayer: "InfiniBand"}
	plain := railnetv1.NIC{Netdev: "ens1f0", VendorID: "8086", DeviceID: "159b", Driver: "ice"}
	tests := []struct {
		name string
		sel  Selectors
		nic  railnetv1.NIC
		want bool
	}{
		{"empty selects every RDMA NIC", Selectors{}, cx5, true},
		{"never a NIC without RDMA", Selectors{}, plain, false},
		{"ifName", Selectors{IfNames: []string{"enp11s0f0np0"}}, cx5, true},
		{"other ifName", Selectors{IfNames: []string{"enp12s0f0np0"}}, cx5, false},
		{"OR within a list", Selectors{IfNames: []string{"enp12s0f0np0", "enp11s0f0np0"}}, cx5, true},
		{"AND across lists, all match", Selectors{Vendors: []string{"15b3"}, DeviceIDs: []string{"1017"}, Drivers: []string{"mlx5_core"}, LinkTypes: []string{"Ethernet"}}, cx5, true},
		{"AND across lists, one fails", Selectors{Vendors: []string{"15b3"}, DeviceIDs: []string{"1018"}}, cx5, false},
		{"link type infiniband", Selectors{LinkTypes: []string{"InfiniBand"}}, ib, true},
		{"link type ether on IB", Selectors{LinkTypes: []string{"Ethernet"}}, ib, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sel.Matches(&tc.nic); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}
