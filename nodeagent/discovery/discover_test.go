package discovery

import (
	"errors"
	"fmt"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

func shared() (string, error)    { return railnetv1.NetnsModeShared, nil }
func exclusive() (string, error) { return railnetv1.NetnsModeExclusive, nil }
func noRDMA() (string, error)    { return "", fmt.Errorf("netlink: %w", unix.EPROTONOSUPPORT) }

// expectedNIC is rail i of the 8-rail fixture as discovery must report it.
func expectedNIC(i int) railnetv1.NIC {
	numa := int32(0)
	if i >= 4 {
		numa = 1
	}
	return railnetv1.NIC{
		Netdev: fmt.Sprintf("enp%ds0f0np0", 11+i), RDMADevice: fmt.Sprintf("mlx5_%d", i), Port: 1,
		PortState: "ACTIVE", PhysState: "LINK_UP", LinkLayer: "Ethernet", LinkState: "up",
		MTU: 9000, SpeedMbps: 100000, PCIAddress: fmt.Sprintf("0000:%02x:00.0", 11+i),
		VendorID: "15b3", DeviceID: "1017", Driver: "mlx5_core", NUMANode: numa,
		NearestGPU: fmt.Sprintf("0000:%02x:00.0", 0x50+i), GPUDistance: railnetv1.DistancePIX,
		Rail: ptr(int32(i)), GIDTableSize: 255, GIDTableUsed: 4, GIDsPerAddress: 2, GIDsPerInterface: 4,
	}
}

func TestDiscoverFixtures(t *testing.T) {
	nn := newNodeNetns(t, discoverytest.SeedNetdevs()...)
	nn.setUp(t, "enp16s0f0np0", false) // rail 5's netdev down
	nn.waitOperState(t, "enp16s0f0np0", "down")

	rail8 := func() []railnetv1.NIC {
		out := make([]railnetv1.NIC, 8)
		for i := range out {
			out[i] = expectedNIC(i)
		}
		out[5].LinkState = "down"
		return out
	}
	tests := []struct {
		name     string
		fixture  string
		mode     NetnsModeFunc
		wantMode string
		wantNICs func() []railnetv1.NIC
		wantUp   int
	}{
		{name: "8 rails, one netdev down", fixture: "rail8", mode: shared, wantMode: "shared", wantNICs: rail8, wantUp: 7},
		{name: "RDMA port down", fixture: "downport", mode: shared, wantMode: "shared", wantUp: 6,
			wantNICs: func() []railnetv1.NIC {
				out := rail8()
				out[3].PortState, out[3].PhysState = "DOWN", "DISABLED"
				return out
			}},
		{name: "exclusive mode", fixture: "rail8", mode: exclusive, wantMode: "exclusive", wantNICs: rail8, wantUp: 7},
		{name: "no RDMA", fixture: "nordma", mode: noRDMA, wantMode: "unsupported",
			wantNICs: func() []railnetv1.NIC { return nil }, wantUp: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node, err := Discover(Options{SysfsRoot: fixture(tc.fixture), Links: nn.links, NetnsMode: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			if node.NetnsMode != tc.wantMode {
				t.Errorf("netns mode %q, want %q", node.NetnsMode, tc.wantMode)
			}
			want := tc.wantNICs()
			if len(node.NICs) != len(want) {
				t.Fatalf("%d NICs, want %d: %+v", len(node.NICs), len(want), node.NICs)
			}
			up := 0
			for i := range want {
				if !reflect.DeepEqual(node.NICs[i], want[i]) {
					t.Errorf("NIC %d:\n got %+v\nwant %+v", i, node.NICs[i], want[i])
				}
				if node.NICs[i].Up() {
					up++
				}
			}
			if up != tc.wantUp {
				t.Errorf("%d NICs up, want %d", up, tc.wantUp)
			}
			if len(node.GPUs) != 8 {
				t.Fatalf("%d GPUs, want 8", len(node.GPUs))
			}
			for i, g := range node.GPUs {
				want := railnetv1.GPU{PCIAddress: fmt.Sprintf("0000:%02x:00.0", 0x50+i), Index: int32(i), NUMANode: int32(i / 4)}
				if g != want {
					t.Errorf("GPU %d = %+v, want %+v", i, g, want)
				}
			}
		})
	}
}

func TestDiscoverAbsentNetdev(t *testing.T) {
	// Only rail 0's netdev exists in the netns: the others are reported
	// absent, not an error, and are not up.
	nn := newNodeNetns(t, "enp11s0f0np0")
	node, err := Discover(Options{SysfsRoot: fixture("rail8"), Links: nn.links, NetnsMode: shared})
	if err != nil {
		t.Fatal(err)
	}
	if got := node.NICs[0].LinkState; got != "up" {
		t.Errorf("enp11s0f0np0 link %q, want up", got)
	}
	for _, n := range node.NICs[1:] {
		if n.LinkState != LinkStateAbsent || n.Up() {
			t.Errorf("%s link %q up=%v, want absent and not up", n.Netdev, n.LinkState, n.Up())
		}
	}
}

func TestDiscoverErrors(t *testing.T) {
	nn := newNodeNetns(t)
	if _, err := Discover(Options{SysfsRoot: fixture("rail8")}); err == nil {
		t.Error("discovery without netlink handle succeeded")
	}
	_, err := Discover(Options{SysfsRoot: t.TempDir(), Links: nn.links})
	if err == nil || !strings.Contains(err.Error(), "has no sys/bus/pci/devices: pass --sysfs-root=/ or the folder where the host's / (with /sys) is mounted") {
		t.Errorf("empty sysfs root: err %v", err)
	}
	_, err = Discover(Options{SysfsRoot: fixture("rail8"), Links: nn.links,
		NetnsMode: func() (string, error) { return "", unix.EPERM }})
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("netns mode error %v, want EPERM wrapped", err)
	}
}

func TestNetnsMode(t *testing.T) {
	tests := []struct {
		name    string
		get     NetnsModeFunc
		want    string
		wantErr string
	}{
		{"shared", shared, "shared", ""},
		{"exclusive", exclusive, "exclusive", ""},
		{"no RDMA netlink", noRDMA, "unsupported", ""},
		{"nil", nil, "unsupported", ""},
		{"garbage", func() (string, error) { return "weird", nil }, "", `read the RDMA netns mode: unknown mode "weird"`},
		{"EPERM", func() (string, error) { return "", unix.EPERM }, "", "read the RDMA netns mode: operation not permitted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NetnsMode(tc.get)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestNetnsModeKernel asks this kernel, which has no RDMA netlink: the
// answer is "unsupported", not an error.
func TestNetnsModeKernel(t *testing.T) {
	got, err := NetnsMode(KernelNetnsMode)
	if err != nil {
		t.Fatal(err)
	}
	switch got {
	case railnetv1.NetnsModeUnsupported, railnetv1.NetnsModeShared, railnetv1.NetnsModeExclusive:
	default:
		t.Fatalf("mode %q", got)
	}
	if _, kerr := KernelNetnsMode(); errors.Is(kerr, unix.EPROTONOSUPPORT) && got != railnetv1.NetnsModeUnsupported {
		t.Fatalf("EPROTONOSUPPORT mapped to %q", got)
	}
}
