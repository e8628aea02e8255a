package gpudra

import (
	"testing"

	"k8s.io/dynamic-resource-allocation/deviceattribute"

	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
)

// The fixture's 8 GPUs sit two per PCIe root complex, in GPU index order.
func TestFixtureGPUs(t *testing.T) {
	links, err := discovery.OpenLinks("")
	if err != nil {
		t.Fatal(err)
	}
	defer links.Close()
	root := discoverytest.Fixture("rail8")
	n, err := discovery.Discover(discovery.Options{SysfsRoot: root, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := SysfsDevices(root, n.GPUs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pci0000:00", "pci0000:00", "pci0000:20", "pci0000:20", "pci0000:80", "pci0000:80", "pci0000:a0", "pci0000:a0"}
	if len(devs) != len(want) {
		t.Fatalf("%d GPU devices, want %d", len(devs), len(want))
	}
	for i, d := range devs {
		got := d.Attributes[deviceattribute.StandardDeviceAttributePCIeRoot].StringValue
		if d.Name != DeviceName(int32(i)) || got == nil || *got != want[i] {
			t.Errorf("device %d: %s on %v, want %s on %s", i, d.Name, got, DeviceName(int32(i)), want[i])
		}
	}
}
