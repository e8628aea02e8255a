package dra

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/dynamic-resource-allocation/deviceattribute"
	"k8s.io/utils/ptr"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
)

func nic(netdev string, rail int32, pci string) railnetv1.NIC {
	return railnetv1.NIC{Netdev: netdev, RDMADevice: "mlx5_" + string(netdev[len(netdev)-1]), Port: 1, PortState: "ACTIVE",
		PhysState: "LINK_UP", LinkLayer: "Ethernet", LinkState: "up", SpeedMbps: 200000, PCIAddress: pci, NUMANode: 0, Rail: ptr.To(rail)}
}

func names(devs []resourceapi.Device) []string {
	var out []string
	for _, d := range devs {
		out = append(out, d.Name)
	}
	return out
}

func TestDevices(t *testing.T) {
	a, b, c := nic("eth0", 0, "0000:0b:00.0"), nic("eth1", 1, "0000:0c:00.0"), nic("eth2", 2, "0000:0d:00.0")
	down := c
	down.LinkState = "down"
	portDown := c
	portDown.PortState = "DOWN"
	noRail := c
	noRail.Rail = nil
	dup := c
	dup.Netdev, dup.Rail = "eth9", ptr.To[int32](1)
	unknownLink := c
	unknownLink.LinkState = "unknown"
	roots := map[string]string{"0000:0b:00.0": "pci0000:00", "0000:0c:00.0": "pci0000:00", "0000:0d:00.0": "pci0000:20"}
	tests := []struct {
		name        string
		nics        []railnetv1.NIC
		wantNames   []string
		wantSkipped []string
	}{
		{"rail order whatever the input order", []railnetv1.NIC{c, a, b}, []string{"rail-0", "rail-1", "rail-2"}, nil},
		{"a NIC without a rail is not a device", []railnetv1.NIC{a, noRail}, []string{"rail-0"}, nil},
		{"link down leaves the slice", []railnetv1.NIC{a, b, down}, []string{"rail-0", "rail-1"}, []string{`NIC eth2 (rail 2): link "down"`}},
		{"RDMA port down leaves the slice", []railnetv1.NIC{a, portDown}, []string{"rail-0"}, []string{`RDMA port "DOWN"`}},
		{"link state unknown counts as up", []railnetv1.NIC{unknownLink}, []string{"rail-2"}, nil},
		{"a second NIC on a rail is refused by name", []railnetv1.NIC{a, b, dup}, []string{"rail-0", "rail-1"}, []string{"NIC eth9: rail 1 is already NIC eth1's"}},
		{"no NICs, no devices", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			devs, skipped := Devices(tt.nics, roots, 0)
			if got := names(devs); !slices.Equal(got, tt.wantNames) {
				t.Errorf("devices %v, want %v", got, tt.wantNames)
			}
			if len(skipped) != len(tt.wantSkipped) {
				t.Fatalf("skipped %q, want %d matching %q", skipped, len(tt.wantSkipped), tt.wantSkipped)
			}
			for i, w := range tt.wantSkipped {
				if !strings.Contains(skipped[i], w) {
					t.Errorf("skipped[%d] = %q, want it to contain %q", i, skipped[i], w)
				}
			}
		})
	}
}

func TestDeviceAttributesAndShares(t *testing.T) {
	n := nic("enp11s0f0np0", 3, "0000:0b:00.0")
	n.NUMANode = 1
	devs, _ := Devices([]railnetv1.NIC{n}, map[string]string{"0000:0b:00.0": "pci0000:00"}, 64)
	if len(devs) != 1 {
		t.Fatalf("devices: %v", names(devs))
	}
	d := devs[0]
	str := func(k resourceapi.QualifiedName) string {
		if v := d.Attributes[k].StringValue; v != nil {
			return *v
		}
		return "<unset>"
	}
	num := func(k resourceapi.QualifiedName) int64 {
		if v := d.Attributes[k].IntValue; v != nil {
			return *v
		}
		return -99
	}
	for k, want := range map[resourceapi.QualifiedName]string{
		AttrNetdev: "enp11s0f0np0", AttrRDMADevice: "mlx5_0", AttrLinkState: "up", AttrPortState: "ACTIVE",
		AttrLinkLayer: "Ethernet", AttrPCIAddress: "0000:0b:00.0",
		deviceattribute.StandardDeviceAttributePCIeRoot: "pci0000:00",
		deviceattribute.StandardDeviceAttributePCIBusID: "0000:0b:00.0",
	} {
		if got := str(k); got != want {
			t.Errorf("attribute %s = %q, want %q", k, got, want)
		}
	}
	for k, want := range map[resourceapi.QualifiedName]int64{
		AttrRail: 3, AttrNUMANode: 1, AttrPort: 1, AttrSpeedMbps: 200000, deviceattribute.StandardDeviceAttributeNUMANode: 1,
	} {
		if got := num(k); got != want {
			t.Errorf("attribute %s = %d, want %d", k, got, want)
		}
	}
	if d.AllowMultipleAllocations == nil || !*d.AllowMultipleAllocations {
		t.Error("a rail NIC must allow multiple allocations (many pods per NIC)")
	}
	c := d.Capacity[CapacityShares]
	if c.Value.Value() != 64 || c.RequestPolicy == nil || c.RequestPolicy.Default.Value() != 1 {
		t.Errorf("shares capacity %+v, want 64 with a default request of 1", c)
	}
	if len(d.Attributes)+len(d.Capacity) > resourceapi.ResourceSliceMaxAttributesAndCapacitiesPerDevice {
		t.Errorf("%d attributes and capacities, the API allows %d", len(d.Attributes)+len(d.Capacity), resourceapi.ResourceSliceMaxAttributesAndCapacitiesPerDevice)
	}

	// No PCIe root, no NUMA node: the standard attributes are left out.
	n.NUMANode = -1
	devs, _ = Devices([]railnetv1.NIC{n}, nil, 0)
	if _, ok := devs[0].Attributes[deviceattribute.StandardDeviceAttributePCIeRoot]; ok {
		t.Error("pcieRoot published without a resolved root")
	}
	if _, ok := devs[0].Attributes[deviceattribute.StandardDeviceAttributeNUMANode]; ok {
		t.Error("standard numaNode published for a NIC without NUMA affinity")
	}
	if q := devs[0].Capacity[CapacityShares].Value; q.Value() != DefaultShares {
		t.Errorf("default shares %s, want %d", q.String(), DefaultShares)
	}
}

// The fixture's 8 rail NICs sit two per PCIe root complex.
func TestPCIeRootsOfTheFixture(t *testing.T) {
	var nics []railnetv1.NIC
	for i, pci := range []string{"0000:0b:00.0", "0000:0c:00.0", "0000:0d:00.0", "0000:0e:00.0", "0000:0f:00.0", "0000:10:00.0", "0000:11:00.0", "0000:12:00.0"} {
		nics = append(nics, nic("enp1"+string(rune('1'+i))+"s0f0np0", int32(i), pci))
	}
	nics = append(nics, nic("ghost", 9, "0000:ff:00.0"))
	roots, errs := PCIeRoots(discoverytest.Fixture("rail8"), nics)
	want := map[string]string{
		"0000:0b:00.0": "pci0000:00", "0000:0c:00.0": "pci0000:00", "0000:0d:00.0": "pci0000:20", "0000:0e:00.0": "pci0000:20",
		"0000:0f:00.0": "pci0000:80", "0000:10:00.0": "pci0000:80", "0000:11:00.0": "pci0000:a0", "0000:12:00.0": "pci0000:a0",
	}
	for pci, w := range want {
		if roots[pci] != w {
			t.Errorf("PCIe root of %s = %q, want %q", pci, roots[pci], w)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "NIC ghost") {
		t.Errorf("errors %v, want one naming NIC ghost", errs)
	}
}

func claimWith(results ...resourceapi.DeviceRequestAllocationResult) *resourceapi.ResourceClaim {
	return &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "job-0-rails", UID: types.UID("uid-1")},
		Status: resourceapi.ResourceClaimStatus{Allocation: &resourceapi.AllocationResult{
			Devices: resourceapi.DeviceAllocationResult{Results: results}}},
	}
}

func TestPrepare(t *testing.T) {
	nics := []railnetv1.NIC{nic("eth0", 0, "0000:0b:00.0"), nic("eth1", 1, "0000:0c:00.0"), nic("eth5", 5, "0000:10:00.0")}
	nics[2].LinkState = "down" // allocated before it went down: still the pod's
	share := types.UID("share-a")
	chars := func(dev string) []string { return []string{"/dev/infiniband/uverbs" + dev[len(dev)-1:]} }
	tests := []struct {
		name      string
		claim     *resourceapi.ResourceClaim
		wantRails []int32
		wantErr   string
	}{
		{"rails in rail order, other drivers ignored", claimWith(
			resourceapi.DeviceRequestAllocationResult{Request: "rails", Driver: DriverName, Pool: "node-a", Device: "rail-5"},
			resourceapi.DeviceRequestAllocationResult{Request: "gpus", Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0"},
			resourceapi.DeviceRequestAllocationResult{Request: "rails", Driver: DriverName, Pool: "node-a", Device: "rail-0", ShareID: &share},
		), []int32{0, 5}, ""},
		{"unallocated claim", &resourceapi.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "x"}}, nil, "ResourceClaim train/x is not allocated"},
		{"another node's pool", claimWith(resourceapi.DeviceRequestAllocationResult{Request: "rails", Driver: DriverName, Pool: "node-b", Device: "rail-0"}),
			nil, "device rail-0 is in pool node-b, not this node's pool node-a"},
		{"unknown rail", claimWith(resourceapi.DeviceRequestAllocationResult{Request: "rails", Driver: DriverName, Pool: "node-a", Device: "rail-7"}),
			nil, "node node-a has no rail NIC rail-7 (its rails: rail-0, rail-1, rail-5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := Prepare(tt.claim, "node-a", nics, chars)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int32
			for _, r := range pc.Rails {
				got = append(got, r.Rail)
			}
			if !slices.Equal(got, tt.wantRails) {
				t.Errorf("rails %v, want %v", got, tt.wantRails)
			}
		})
	}

	withPods := tests[0].claim.DeepCopy()
	withPods.Status.ReservedFor = []resourceapi.ResourceClaimConsumerReference{
		{Resource: "pods", Name: "trainer", UID: "pod-1"}, {APIGroup: "example.com", Resource: "jobs", Name: "j", UID: "job-1"}}
	pc, err := Prepare(withPods, "node-a", nics, chars)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pc.Pods, []string{"pod-1"}) {
		t.Errorf("claim reserved for pods %v, want [pod-1] (the CNI's key)", pc.Pods)
	}
	if pc.Rails[0].ShareID != "share-a" || pc.Rails[0].Netdev != "eth0" || !slices.Equal(pc.Rails[0].CharDevices, []string{"/dev/infiniband/uverbs0"}) {
		t.Errorf("rail 0 prepared as %+v", pc.Rails[0])
	}
	raw, err := CDISpec(pc)
	if err != nil {
		t.Fatal(err)
	}
	var spec cdispec.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Kind != CDIKind || len(spec.Devices) != 2 || spec.Devices[0].Name != "uid-1-rail-0" {
		t.Fatalf("CDI spec %s", raw)
	}
	e := spec.Devices[1].ContainerEdits
	for _, want := range []string{"RAILNET_RAILS=0,5", "RAILNET_RAIL_5_NETDEV=eth5", "RAILNET_RAIL_5_RDMA_DEVICE=mlx5_5"} {
		if !slices.Contains(e.Env, want) {
			t.Errorf("CDI env %v lacks %s", e.Env, want)
		}
	}
	if len(e.DeviceNodes) != 1 || e.DeviceNodes[0].Path != "/dev/infiniband/uverbs5" {
		t.Errorf("CDI device nodes %+v", e.DeviceNodes)
	}

	other := resourceapi.AllocatedDeviceStatus{Driver: "gpu.example.com", Pool: "node-a", Device: "gpu-0"}
	stale := resourceapi.AllocatedDeviceStatus{Driver: DriverName, Pool: "node-a", Device: "rail-9"}
	st := DeviceStatuses([]resourceapi.AllocatedDeviceStatus{other, stale}, "node-a", pc,
		map[int32]resourceapi.NetworkDeviceData{5: {InterfaceName: "net6", IPs: []string{"172.16.16.3/24"}, HardwareAddress: "02:00:00:00:00:06"}})
	if len(st) != 3 || st[0].Driver != "gpu.example.com" || st[1].Device != "rail-0" || st[2].Device != "rail-5" {
		t.Fatalf("statuses %+v", st)
	}
	if st[1].ShareID == nil || *st[1].ShareID != "share-a" || !strings.Contains(string(st[1].Data.Raw), `"netdev":"eth0"`) {
		t.Errorf("rail-0 status %+v data %s", st[1], st[1].Data.Raw)
	}
	if st[1].NetworkData != nil || st[2].NetworkData == nil || st[2].NetworkData.InterfaceName != "net6" {
		t.Errorf("network data: rail-0 %+v, rail-5 %+v; want only rail 5's (net6)", st[1].NetworkData, st[2].NetworkData)
	}
}
