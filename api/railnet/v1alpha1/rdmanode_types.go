package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RDMA network namespace modes of a node's RDMA subsystem (`rdma system`).
const (
	NetnsModeShared      = "shared"
	NetnsModeExclusive   = "exclusive"
	NetnsModeUnsupported = "unsupported" // the kernel has no RDMA netlink
)

// PCIe distances between a NIC and a GPU, in `nvidia-smi topo -m` terms, from
// nearest to farthest.
const (
	DistancePIX  = "PIX"  // at most one PCIe switch between them
	DistancePXB  = "PXB"  // several PCIe switches, no host bridge
	DistancePHB  = "PHB"  // through a PCIe host bridge
	DistanceNODE = "NODE" // across host bridges within one NUMA node
	DistanceSYS  = "SYS"  // across NUMA nodes
)

// Condition types on an RDMANode.
const (
	// ConditionRDMASharedMode is True when the RDMA subsystem shares devices
	// across network namespaces, which macvlan RDMA needs.
	ConditionRDMASharedMode = "RDMASharedMode"
	// ConditionRailsReady is True when every rail NIC has link and RDMA port up.
	ConditionRailsReady = "RailsReady"
)

// RDMANode is the node agent's inventory of one node's RDMA NICs and rails.
// Its name is the node's name; the agent writes its status.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=rn,categories={railnet}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="RAILS-UP",type=integer,JSONPath=`.status.railsUp`
// +kubebuilder:printcolumn:name="RAILS",type=integer,JSONPath=`.status.railsTotal`
// +kubebuilder:printcolumn:name="MODE",type=string,JSONPath=`.status.netnsMode`
// +kubebuilder:printcolumn:name="HEARTBEAT",type=date,JSONPath=`.status.heartbeatTime`,priority=1
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`
type RDMANode struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status RDMANodeStatus `json:"status,omitempty"`
}

// RDMANodeStatus is what the agent discovered on the node.
type RDMANodeStatus struct {
	// NetnsMode is the RDMA subsystem's network namespace mode.
	// +kubebuilder:validation:Enum=shared;exclusive;unsupported
	// +optional
	NetnsMode string `json:"netnsMode,omitempty"`

	// NICs are the node's RDMA-capable network interfaces.
	// +listType=map
	// +listMapKey=netdev
	// +optional
	NICs []NIC `json:"nics,omitempty"`

	// GPUs are the node's GPUs.
	// +listType=map
	// +listMapKey=pciAddress
	// +optional
	GPUs []GPU `json:"gpus,omitempty"`

	// RailsTotal counts NICs assigned to a rail.
	// +kubebuilder:validation:Minimum=0
	// +optional
	RailsTotal int32 `json:"railsTotal"`
	// RailsUp counts rail NICs whose link and RDMA port are up.
	// +kubebuilder:validation:Minimum=0
	// +optional
	RailsUp int32 `json:"railsUp"`

	// Conditions: RDMASharedMode, RailsReady.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// HeartbeatTime is when the agent last confirmed this status.
	// +optional
	HeartbeatTime *metav1.Time `json:"heartbeatTime,omitempty"`
}

// NIC is one RDMA-capable network interface and its RDMA port.
type NIC struct {
	// Netdev is the kernel interface name, e.g. enp11s0f0np0.
	// +kubebuilder:validation:MinLength=1
	Netdev string `json:"netdev"`
	// RDMADevice is the RDMA device name, e.g. mlx5_0.
	// +optional
	RDMADevice string `json:"rdmaDevice,omitempty"`
	// Port is the RDMA port number of this netdev.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Port int32 `json:"port,omitempty"`
	// PortState is the RDMA port state (ACTIVE, DOWN, INIT, ARMED).
	// +optional
	PortState string `json:"portState,omitempty"`
	// PhysState is the RDMA physical port state (LINK_UP, DISABLED, POLLING).
	// +optional
	PhysState string `json:"physState,omitempty"`
	// LinkLayer is Ethernet or InfiniBand.
	// +optional
	LinkLayer string `json:"linkLayer,omitempty"`
	// LinkState is the netdev's operational state (up, down, unknown...).
	// +optional
	LinkState string `json:"linkState,omitempty"`
	// MTU of the netdev.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MTU int32 `json:"mtu,omitempty"`
	// SpeedMbps is the link speed; 0 when unknown.
	// +kubebuilder:validation:Minimum=0
	// +optional
	SpeedMbps int64 `json:"speedMbps,omitempty"`
	// PCIAddress of the function, e.g. 0000:0b:00.0.
	// +optional
	PCIAddress string `json:"pciAddress,omitempty"`
	// VendorID and DeviceID are the PCI IDs, e.g. 15b3 and 1017.
	// +optional
	VendorID string `json:"vendorID,omitempty"`
	// +optional
	DeviceID string `json:"deviceID,omitempty"`
	// Driver is the kernel driver, e.g. mlx5_core.
	// +optional
	Driver string `json:"driver,omitempty"`
	// NUMANode of the PCI function; -1 when the platform has none.
	// +optional
	NUMANode int32 `json:"numaNode"`
	// NearestGPU is the PCI address of the closest GPU.
	// +optional
	NearestGPU string `json:"nearestGPU,omitempty"`
	// GPUDistance is the PCIe distance to NearestGPU.
	// +kubebuilder:validation:Enum=PIX;PXB;PHB;NODE;SYS
	// +optional
	GPUDistance string `json:"gpuDistance,omitempty"`
	// Rail is the index of the leaf switch this NIC is cabled to; unset when
	// the NIC is not a rail NIC.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Rail *int32 `json:"rail,omitempty"`
	// GIDTableSize is the RDMA port's GID table length.
	// +kubebuilder:validation:Minimum=0
	// +optional
	GIDTableSize int32 `json:"gidTableSize,omitempty"`
	// GIDTableUsed counts non-zero GID entries.
	// +kubebuilder:validation:Minimum=0
	// +optional
	GIDTableUsed int32 `json:"gidTableUsed,omitempty"`
	// GIDsPerAddress is how many GID entries the port gets for each IP
	// address of a netdev on it: one per RoCE GID type it populates (2 for
	// RoCE v1 and v2), as observed on the port's used entries; 0 when the
	// agent saw none.
	// +kubebuilder:validation:Minimum=0
	// +optional
	GIDsPerAddress int32 `json:"gidsPerAddress,omitempty"`
	// GIDsPerInterface is how many GID entries one pod interface with a
	// single IPv4 address adds to the port: GIDsPerAddress for the address,
	// plus GIDsPerAddress for its IPv6 link-local address when the NIC's own
	// netdev has one (so pod interfaces get one too); each IPv6 global
	// address adds GIDsPerAddress more. 0 when the agent saw no entry.
	// +kubebuilder:validation:Minimum=0
	// +optional
	GIDsPerInterface int32 `json:"gidsPerInterface,omitempty"`
	// Resources are the device plugin resources this NIC serves.
	// +optional
	Resources []string `json:"resources,omitempty"`
}

// GPU is one GPU's place on the PCIe tree.
type GPU struct {
	// PCIAddress of the GPU, e.g. 0000:0c:00.0.
	// +kubebuilder:validation:MinLength=1
	PCIAddress string `json:"pciAddress"`
	// Index is the GPU's position in PCI address order.
	// +kubebuilder:validation:Minimum=0
	Index int32 `json:"index"`
	// NUMANode of the GPU; -1 when the platform has none.
	// +optional
	NUMANode int32 `json:"numaNode"`
}

// RDMANodeList is a list of RDMANodes.
//
// +kubebuilder:object:root=true
type RDMANodeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RDMANode `json:"items"`
}
