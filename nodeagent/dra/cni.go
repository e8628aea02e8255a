package dra

import (
	resourceapi "k8s.io/api/resource/v1"

	"github.com/railnet/railnet/nodeagent/dra/claimfiles"
)

// ClaimNetwork is the network data of a claim's rails, as status.devices
// takes it: from the network file of the first pod it is reserved for that
// has one (a claim shared by several pods shows one pod's interfaces:
// status.devices has one entry per device).
func ClaimNetwork(pc claimfiles.PreparedClaim, pods map[string]claimfiles.PodNetwork) map[int32]resourceapi.NetworkDeviceData {
	for _, uid := range pc.Pods {
		pn, ok := pods[uid]
		if !ok {
			continue
		}
		out := make(map[int32]resourceapi.NetworkDeviceData, len(pn.Rails))
		for rail, nd := range pn.Rails {
			out[rail] = resourceapi.NetworkDeviceData{InterfaceName: nd.InterfaceName, IPs: nd.IPs, HardwareAddress: nd.HardwareAddress}
		}
		return out
	}
	return nil
}
