package dra

import (
	"fmt"
	"sort"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/dynamic-resource-allocation/deviceattribute"
	"k8s.io/utils/ptr"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/railsdra"
)

// Names shared with the claim writers (package api/railsdra).
const (
	DriverName     = railsdra.DriverName
	AttrRail       = railsdra.AttrRail
	AttrNetdev     = railsdra.AttrNetdev
	AttrRDMADevice = railsdra.AttrRDMADevice
	AttrPort       = railsdra.AttrPort
	AttrNUMANode   = railsdra.AttrNUMANode
	AttrLinkState  = railsdra.AttrLinkState
	AttrPortState  = railsdra.AttrPortState
	AttrLinkLayer  = railsdra.AttrLinkLayer
	AttrPCIAddress = railsdra.AttrPCIAddress
	AttrSpeedMbps  = railsdra.AttrSpeedMbps
	CapacityShares = railsdra.CapacityShares
)

// DefaultShares is a NIC's shares when Options.Shares is 0.
const DefaultShares = 100

// Healthy says whether a rail NIC takes new claims: its netdev is up (or
// reports unknown, as virtual and some NIC drivers do) and its RDMA port is
// ACTIVE (or has no RDMA port state, e.g. before the driver reports one).
func Healthy(n railnetv1.NIC) bool {
	link := strings.ToLower(n.LinkState)
	return (link == "up" || link == "unknown") && (n.PortState == "" || n.PortState == "ACTIVE")
}

// DeviceName is the device name of a rail NIC: rail-<index>.
func DeviceName(rail int32) string { return fmt.Sprintf("rail-%d", rail) }

// Devices turns a node's NICs into the rail devices of its ResourceSlice, in
// rail order: one per healthy NIC with a rail. pcieRoots maps a NIC's PCI
// address to its PCIe root complex ("pci0000:00"); a NIC without one has no
// pcieRoot attribute (and so never matches a pcieRoot constraint). shares is
// the NIC's consumable "shares" capacity (DefaultShares when 0). A second NIC
// claiming a rail already taken is skipped and named in skipped, with why.
func Devices(nics []railnetv1.NIC, pcieRoots map[string]string, shares int64) (devs []resourceapi.Device, skipped []string) {
	if shares <= 0 {
		shares = DefaultShares
	}
	rails := make([]railnetv1.NIC, 0, len(nics))
	for _, n := range nics {
		if n.Rail != nil {
			rails = append(rails, n)
		}
	}
	sort.SliceStable(rails, func(i, j int) bool { return *rails[i].Rail < *rails[j].Rail })
	seen := map[int32]string{}
	for _, n := range rails {
		if other, dup := seen[*n.Rail]; dup {
			skipped = append(skipped, fmt.Sprintf("NIC %s: rail %d is already NIC %s's; give each NIC its own rail (--rail=IFNAME=RAIL or the SpiderMultusConfig masters)", n.Netdev, *n.Rail, other))
			continue
		}
		seen[*n.Rail] = n.Netdev
		if !Healthy(n) {
			skipped = append(skipped, fmt.Sprintf("NIC %s (rail %d): link %q, RDMA port %q; it returns to the slice when both are up", n.Netdev, *n.Rail, n.LinkState, n.PortState))
			continue
		}
		devs = append(devs, device(n, pcieRoots[n.PCIAddress], shares))
	}
	return devs, skipped
}

func device(n railnetv1.NIC, pcieRoot string, shares int64) resourceapi.Device {
	attrs := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
		AttrRail:      {IntValue: ptr.To(int64(*n.Rail))},
		AttrNetdev:    {StringValue: ptr.To(n.Netdev)},
		AttrNUMANode:  {IntValue: ptr.To(int64(n.NUMANode))},
		AttrLinkState: {StringValue: ptr.To(n.LinkState)},
	}
	optional := map[resourceapi.QualifiedName]string{
		AttrRDMADevice: n.RDMADevice, AttrPortState: n.PortState, AttrLinkLayer: n.LinkLayer, AttrPCIAddress: n.PCIAddress,
	}
	for k, v := range optional {
		if v != "" {
			attrs[k] = resourceapi.DeviceAttribute{StringValue: ptr.To(v)}
		}
	}
	if n.Port > 0 {
		attrs[AttrPort] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(n.Port))}
	}
	if n.SpeedMbps > 0 {
		attrs[AttrSpeedMbps] = resourceapi.DeviceAttribute{IntValue: ptr.To(n.SpeedMbps)}
	}
	if pcieRoot != "" {
		attrs[deviceattribute.StandardDeviceAttributePCIeRoot] = resourceapi.DeviceAttribute{StringValue: ptr.To(pcieRoot)}
	}
	if n.PCIAddress != "" {
		attrs[deviceattribute.StandardDeviceAttributePCIBusID] = resourceapi.DeviceAttribute{StringValue: ptr.To(n.PCIAddress)}
	}
	if n.NUMANode >= 0 {
		attrs[deviceattribute.StandardDeviceAttributeNUMANode] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(n.NUMANode))}
	}
	one := resource.MustParse("1")
	return resourceapi.Device{
		Name:                     DeviceName(*n.Rail),
		Attributes:               attrs,
		AllowMultipleAllocations: ptr.To(true),
		Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
			CapacityShares: {
				Value: *resource.NewQuantity(shares, resource.DecimalSI),
				RequestPolicy: &resourceapi.CapacityRequestPolicy{
					Default:    &one,
					ValidRange: &resourceapi.CapacityRequestPolicyRange{Min: &one, Step: &one},
				},
			},
		},
	}
}

// PCIeRoots resolves the PCIe root complex of each NIC's PCI address under
// sysfsRoot (the folder standing for "/"), with the library's standard
// resolver. A NIC whose root cannot be read is named in errs and left out.
func PCIeRoots(sysfsRoot string, nics []railnetv1.NIC) (roots map[string]string, errs []error) {
	roots = map[string]string{}
	fsRoot := strings.TrimSuffix(sysfsRoot, "/") + "/sys"
	for _, n := range nics {
		if n.PCIAddress == "" || n.Rail == nil {
			continue
		}
		attr, err := deviceattribute.GetPCIeRootAttributeByPCIBusID(n.PCIAddress, deviceattribute.WithFSFromRoot(fsRoot))
		if err != nil || attr.Value.StringValue == nil {
			errs = append(errs, fmt.Errorf("NIC %s: PCIe root of %s: %w", n.Netdev, n.PCIAddress, err))
			continue
		}
		roots[n.PCIAddress] = *attr.Value.StringValue
	}
	return roots, errs
}
