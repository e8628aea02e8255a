package dra

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
	cdispec "tags.cncf.io/container-device-interface/specs-go"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/dra/claimfiles"
)

// Prepare maps a claim's allocation to this node's NICs: every device result
// of DriverName in pool (the node's name) must be a rail NIC known to the
// node, whatever its health now (a rail that went down after allocation is
// still the pod's). charDevices returns an RDMA device's /dev/infiniband
// nodes. The rails come out in rail order.
func Prepare(claim *resourceapi.ResourceClaim, pool string, nics []railnetv1.NIC, charDevices func(string) []string) (claimfiles.PreparedClaim, error) {
	pc := claimfiles.PreparedClaim{UID: string(claim.UID), Namespace: claim.Namespace, Name: claim.Name}
	if claim.Status.Allocation == nil {
		return pc, fmt.Errorf("ResourceClaim %s/%s is not allocated; the scheduler allocates it before the pod starts", claim.Namespace, claim.Name)
	}
	for _, ref := range claim.Status.ReservedFor {
		if ref.Resource == "pods" && ref.APIGroup == "" {
			pc.Pods = append(pc.Pods, string(ref.UID))
		}
	}
	byDevice := map[string]railnetv1.NIC{}
	for _, n := range nics {
		if n.Rail != nil {
			if _, dup := byDevice[DeviceName(*n.Rail)]; !dup {
				byDevice[DeviceName(*n.Rail)] = n
			}
		}
	}
	for _, r := range claim.Status.Allocation.Devices.Results {
		if r.Driver != DriverName {
			continue
		}
		if r.Pool != pool {
			return pc, fmt.Errorf("ResourceClaim %s/%s: device %s is in pool %s, not this node's pool %s; delete the pod so the claim is allocated again", claim.Namespace, claim.Name, r.Device, r.Pool, pool)
		}
		n, ok := byDevice[r.Device]
		if !ok {
			return pc, fmt.Errorf("ResourceClaim %s/%s: node %s has no rail NIC %s (its rails: %s); check the node's RDMANode and the agent's rail configuration", claim.Namespace, claim.Name, pool, r.Device, strings.Join(slices.Sorted(maps.Keys(byDevice)), ", "))
		}
		pr := claimfiles.PreparedRail{Request: r.Request, Device: r.Device, Rail: *n.Rail, Netdev: n.Netdev, RDMADevice: n.RDMADevice}
		if r.ShareID != nil {
			pr.ShareID = string(*r.ShareID)
		}
		if n.RDMADevice != "" && charDevices != nil {
			pr.CharDevices = charDevices(n.RDMADevice)
		}
		pc.Rails = append(pc.Rails, pr)
	}
	sort.SliceStable(pc.Rails, func(i, j int) bool { return pc.Rails[i].Rail < pc.Rails[j].Rail })
	return pc, nil
}

// CDIKind is the CDI vendor/class of railnet's rail devices.
const CDIKind = "railnet.io/rail"

// CDIDeviceName is the CDI device of one prepared rail: unique per claim
// (container runtimes cache specs, so names are never reused).
func CDIDeviceName(claimUID string, r claimfiles.PreparedRail) string {
	return claimUID + "-" + r.Device
}

// CDISpec is the CDI spec of a prepared claim: per rail, its char devices
// and variables naming it (RAILNET_RAIL_<rail>_NETDEV, _RDMA_DEVICE), plus
// RAILNET_RAILS (the claim's rails, comma-separated, rail order) on each.
func CDISpec(pc claimfiles.PreparedClaim) ([]byte, error) {
	var rails []string
	for _, r := range pc.Rails {
		rails = append(rails, fmt.Sprint(r.Rail))
	}
	spec := cdispec.Spec{Version: "0.6.0", Kind: CDIKind}
	for _, r := range pc.Rails {
		e := cdispec.ContainerEdits{Env: []string{
			"RAILNET_RAILS=" + strings.Join(rails, ","),
			fmt.Sprintf("RAILNET_RAIL_%d_NETDEV=%s", r.Rail, r.Netdev),
		}}
		if r.RDMADevice != "" {
			e.Env = append(e.Env, fmt.Sprintf("RAILNET_RAIL_%d_RDMA_DEVICE=%s", r.Rail, r.RDMADevice))
		}
		for _, p := range r.CharDevices {
			e.DeviceNodes = append(e.DeviceNodes, &cdispec.DeviceNode{Path: p})
		}
		spec.Devices = append(spec.Devices, cdispec.Device{Name: CDIDeviceName(pc.UID, r), ContainerEdits: e})
	}
	return json.MarshalIndent(spec, "", "  ")
}
