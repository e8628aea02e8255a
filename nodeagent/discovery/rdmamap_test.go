package discovery

import (
	"reflect"
	"testing"
)

// This test binary points rdmamap at the 8-rail fixture; no other test here
// uses rdmamap, and every call points it at the same root.
func TestRdmamapOnFixture(t *testing.T) {
	if err := PointRdmamap(fixture("rail8")); err != nil {
		t.Fatal(err)
	}
	if err := PointRdmamap(fixture("nordma")); err == nil {
		t.Error("pointing rdmamap at a second root succeeded")
	}
	for dev, want := range map[string][]string{
		"mlx5_0": {"/dev/infiniband/issm0", "/dev/infiniband/rdma_cm", "/dev/infiniband/umad0", "/dev/infiniband/uverbs0"},
		"mlx5_1": {"/dev/infiniband/rdma_cm", "/dev/infiniband/umad1", "/dev/infiniband/uverbs1"},
	} {
		if got := CharDevices(dev); !reflect.DeepEqual(got, want) {
			t.Errorf("CharDevices(%s) = %v, want %v", dev, got, want)
		}
	}
	st, err := PortCounters("mlx5_2")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PortStats) != 1 || st.PortStats[0].Port != 1 {
		t.Fatalf("port stats %+v", st)
	}
	got := map[string]uint64{}
	for _, e := range st.PortStats[0].Stats {
		got[e.Name] = e.Value
	}
	if got["port_xmit_data"] != 987654321 || got["port_rcv_packets"] != 4096 {
		t.Errorf("counters %v", got)
	}
	if len(st.PortStats[0].HwStats) != 5 {
		t.Errorf("hw counters %v", st.PortStats[0].HwStats)
	}
	if _, err := PortCounters("mlx5_99"); err == nil {
		t.Error("counters of a missing device succeeded")
	}
}
