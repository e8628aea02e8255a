// Package dra is the node agent's DRA driver "rails.railnet.io" (DRA mode,
// off by default: the agent's --dra flag): it publishes the node's rail NICs
// as one ResourceSlice through the kubelet plugin helpers of
// k8s.io/dynamic-resource-allocation, republishes it when a rail's health
// changes, and answers the kubelet's NodePrepareResources and
// NodeUnprepareResources for claims that got rails.
//
// Devices. One device per rail NIC, named rail-<index> (Devices): attributes
// rail, netdev, rdmaDevice, port, numaNode, linkState, portState, linkLayer,
// pciAddress, speedMbps and the standard resource.kubernetes.io/pcieRoot,
// pciBusID and numaNode, so a claim can ask "k GPUs and k rails on the same
// PCIe root" with matchAttribute and the kube-scheduler pairs them. A rail
// whose link is not up or whose RDMA port is not ACTIVE is left out of the
// slice: new claims avoid it, claims already allocated keep it.
//
// Sharing. Many pods use one NIC (railnet's shared-macvlan model). Each
// device sets allowMultipleAllocations and a consumable capacity "shares"
// (DRA consumable capacity, KEP-5075: beta and on by default in Kubernetes
// v1.37, feature gate DRAConsumableCapacity, no flag needed) whose request
// policy takes 1 share per allocation by default; Options.Shares is how many
// allocations one NIC takes (like the device plugin's rdmaHcaMax).
//
// Prepare. For each claim, the rails allocated by this driver on this node
// become a claimfiles.PreparedClaim (rail order, with the UIDs of the pods
// the claim is reserved for), written as JSON under the plugin's data folder
// (claims/<claim UID>.json, claimfiles.ClaimFile) for the CNI to read, and a CDI spec
// (kind railnet.io/rail) per claim giving the containers the NICs'
// /dev/infiniband nodes and RAILNET_RAILS / RAILNET_RAIL_<i>_NETDEV /
// RAILNET_RAIL_<i>_RDMA_DEVICE variables. Unprepare removes both. The
// device's allocation, its rail and netdev and its RDMA device are also
// written into the ResourceClaim's status.devices (data), so kubectl shows
// them.
//
// Networking. railnet-dra-cni (nodeagent/cmd/railnet-dra-cni) finds a pod's
// rails in the claim files by pod UID (claimfiles.RailsForPod), creates
// net<rail+1> per rail and records the interfaces in a network file
// (claimfiles.NetworkFile); the driver publishes them as each rail's
// networkData (KEP-4817). Package claimfiles holds that file contract apart
// from the driver, free of Kubernetes packages, for the CNI plugin.
package dra
