package metrics

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
)

// This test binary points rdmamap at the 8-rail fixture, once.
func TestMain(m *testing.M) {
	if err := discovery.PointRdmamap(discoverytest.Fixture("rail8")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestCounterName(t *testing.T) {
	for _, tc := range []struct {
		file string
		hw   bool
		want string
	}{
		{"port_rcv_data", false, "railnet_rdma_port_rcv_data_total"},
		{"np_cnp_sent", true, "railnet_rdma_hw_np_cnp_sent_total"},
		{"VL15_dropped", false, "railnet_rdma_vl15_dropped_total"},
		{"rx-dct.connect", true, "railnet_rdma_hw_rx_dct_connect_total"},
		{"lifespan_total", false, "railnet_rdma_lifespan_total"},
	} {
		if got := CounterName(tc.file, tc.hw); got != tc.want {
			t.Errorf("CounterName(%q, %v) = %q, want %q", tc.file, tc.hw, got, tc.want)
		}
	}
}

func TestCollector(t *testing.T) {
	r0, r1 := int32(0), int32(1)
	nics := []railnetv1.NIC{
		{Netdev: "enp11s0f0np0", RDMADevice: "mlx5_0", Port: 1, PortState: "ACTIVE", LinkState: "up", MTU: 9000, SpeedMbps: 100000, GIDTableSize: 255, GIDTableUsed: 4, Rail: &r0},
		{Netdev: "enp12s0f0np0", RDMADevice: "mlx5_1", Port: 1, PortState: "DOWN", LinkState: "down", GIDTableSize: 255, GIDTableUsed: 4, Rail: &r1},
		{Netdev: "enp99s0f0np0", RDMADevice: "mlx5_99", Port: 1},
	}
	c := New("node-a", Sources{
		NICs:     func() []railnetv1.NIC { return nics },
		Counters: discovery.PortCounters,
		Resources: func() []Resource {
			return []Resource{{Name: "spidernet.io/shared_cx5_gpu1", Devices: 100, Healthy: true, Registered: true},
				{Name: "spidernet.io/shared_cx5_gpu2", Devices: 100, Down: []string{"enp12s0f0np0"}}}
		},
	})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `
# HELP railnet_nic_link_up 1 when the NIC's netdev operstate is up.
# TYPE railnet_nic_link_up gauge
railnet_nic_link_up{netdev="enp11s0f0np0",node="node-a",rail="0",rdma_device="mlx5_0"} 1
railnet_nic_link_up{netdev="enp12s0f0np0",node="node-a",rail="1",rdma_device="mlx5_1"} 0
railnet_nic_link_up{netdev="enp99s0f0np0",node="node-a",rail="",rdma_device="mlx5_99"} 0
# HELP railnet_rdma_port_xmit_data_total RDMA port counter port_xmit_data from sysfs (ports/N/counters).
# TYPE railnet_rdma_port_xmit_data_total counter
railnet_rdma_port_xmit_data_total{netdev="enp11s0f0np0",node="node-a",port="1",rail="0",rdma_device="mlx5_0"} 9.87654321e+08
railnet_rdma_port_xmit_data_total{netdev="enp12s0f0np0",node="node-a",port="1",rail="1",rdma_device="mlx5_1"} 9.87654321e+08
# HELP railnet_rdma_hw_np_cnp_sent_total RDMA port hardware counter np_cnp_sent from sysfs (ports/N/hw_counters).
# TYPE railnet_rdma_hw_np_cnp_sent_total counter
railnet_rdma_hw_np_cnp_sent_total{netdev="enp11s0f0np0",node="node-a",port="1",rail="0",rdma_device="mlx5_0"} 7
railnet_rdma_hw_np_cnp_sent_total{netdev="enp12s0f0np0",node="node-a",port="1",rail="1",rdma_device="mlx5_1"} 7
# HELP railnet_rdma_gid_table_used Non-zero entries of the RDMA port's GID table.
# TYPE railnet_rdma_gid_table_used gauge
railnet_rdma_gid_table_used{netdev="enp11s0f0np0",node="node-a",rail="0",rdma_device="mlx5_0"} 4
railnet_rdma_gid_table_used{netdev="enp12s0f0np0",node="node-a",rail="1",rdma_device="mlx5_1"} 4
railnet_rdma_gid_table_used{netdev="enp99s0f0np0",node="node-a",rail="",rdma_device="mlx5_99"} 0
# HELP railnet_rdma_port_active 1 when the NIC's RDMA port state is ACTIVE.
# TYPE railnet_rdma_port_active gauge
railnet_rdma_port_active{netdev="enp11s0f0np0",node="node-a",rail="0",rdma_device="mlx5_0"} 1
railnet_rdma_port_active{netdev="enp12s0f0np0",node="node-a",rail="1",rdma_device="mlx5_1"} 0
railnet_rdma_port_active{netdev="enp99s0f0np0",node="node-a",rail="",rdma_device="mlx5_99"} 0
# HELP railnet_rdma_counter_read_errors RDMA devices whose counters could not be read in this scrape.
# TYPE railnet_rdma_counter_read_errors gauge
railnet_rdma_counter_read_errors{node="node-a"} 1
# HELP railnet_deviceplugin_devices Devices a device plugin resource offers, by health.
# TYPE railnet_deviceplugin_devices gauge
railnet_deviceplugin_devices{health="healthy",node="node-a",resource="spidernet.io/shared_cx5_gpu1"} 100
railnet_deviceplugin_devices{health="healthy",node="node-a",resource="spidernet.io/shared_cx5_gpu2"} 0
railnet_deviceplugin_devices{health="unhealthy",node="node-a",resource="spidernet.io/shared_cx5_gpu1"} 0
railnet_deviceplugin_devices{health="unhealthy",node="node-a",resource="spidernet.io/shared_cx5_gpu2"} 100
# HELP railnet_deviceplugin_registered 1 when the resource is registered with the kubelet.
# TYPE railnet_deviceplugin_registered gauge
railnet_deviceplugin_registered{node="node-a",resource="spidernet.io/shared_cx5_gpu1"} 1
railnet_deviceplugin_registered{node="node-a",resource="spidernet.io/shared_cx5_gpu2"} 0
# HELP railnet_deviceplugin_nic_down 1 for each NIC a resource matches whose link or RDMA port is down (the resource stays healthy while another serves).
# TYPE railnet_deviceplugin_nic_down gauge
railnet_deviceplugin_nic_down{netdev="enp12s0f0np0",node="node-a",resource="spidernet.io/shared_cx5_gpu2"} 1
`
	names := []string{"railnet_nic_link_up", "railnet_rdma_port_xmit_data_total", "railnet_rdma_hw_np_cnp_sent_total",
		"railnet_rdma_gid_table_used", "railnet_rdma_port_active", "railnet_rdma_counter_read_errors",
		"railnet_deviceplugin_devices", "railnet_deviceplugin_registered", "railnet_deviceplugin_nic_down"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// Every counter file of the fixture became a metric; names lint clean.
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	// 3 NICs x 6 gauges + 2 ports x 11 counters + 1 + 2 resources x 3 + 1 NIC down.
	if want := 3*6 + 2*11 + 1 + 2*3 + 1; n != want {
		t.Errorf("%d series, want %d", n, want)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}
