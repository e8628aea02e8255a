package cniconf

// Names in a rendered conflist.
const (
	// CNIVersion is the version of the conflists railnet renders.
	CNIVersion = "1.0.0"
	// IPAMType is railnet's IPAM plugin (the ipam section's type).
	IPAMType = "railnet-ipam"
	// CoordinatorType is railnet's coordinator plugin, chained after the
	// main plugin.
	CoordinatorType = "railnet-coordinator"
)

// Pools names the SpiderIPPools of a network per IP family, in the order
// they are tried: a SpiderMultusConfig's ippools.
type Pools struct {
	IPv4 []string `json:"ipv4,omitempty"`
	IPv6 []string `json:"ipv6,omitempty"`
}

// Empty reports whether no pool is named.
func (p Pools) Empty() bool { return len(p.IPv4) == 0 && len(p.IPv6) == 0 }

// IPAM is the ipam section of a network whose addresses railnet hands out.
type IPAM struct {
	Type    string `json:"type"`
	IPPools Pools  `json:"ippools"`
	// Socket is the node agent's IPAM socket. The webhook leaves it out:
	// the plugin then uses RAILNET_IPAM_SOCKET or the default path.
	Socket string `json:"socket,omitempty"`
}

// CoordinatorOptions are the coordinator's keys. The webhook renders the
// first four from a SpiderMultusConfig's spec.coordinator; the switches
// default to true when absent. PodDefaultRouteNIC is carried as Spiderpool
// renders it and not acted on: the default route stays on eth0 (the webhook
// warns when it is set).
type CoordinatorOptions struct {
	DetectGateway      *bool   `json:"detectGateway,omitempty"`
	DetectIPConflict   *bool   `json:"detectIPConflict,omitempty"`
	PodDefaultRouteNIC *string `json:"podDefaultRouteNIC,omitempty"`
	TunePodRoutes      *bool   `json:"tunePodRoutes,omitempty"`
	// MTU, when set, is applied to the pod interface.
	MTU int `json:"mtu,omitempty"`
	// ProbeTimeout bounds each ARP check (Go duration, default 1s for the
	// gateway; the conflict probe waits a fifth of it, at least 100ms).
	ProbeTimeout string `json:"probeTimeout,omitempty"`
	// IPAMSocket is the node agent's IPAM socket, used to release the
	// address when a check fails (default: RAILNET_IPAM_SOCKET or the
	// default path).
	IPAMSocket string `json:"ipamSocket,omitempty"`
	// RDMAMaster is the node NIC whose RDMA device the interface shares
	// (the macvlan/ipvlan master of a network with an RDMA resource): after
	// ADD the node agent finds the pod's own RoCE GID on it and writes the
	// pod's NCCL conf file. Empty for networks without RDMA.
	RDMAMaster string `json:"rdmaMaster,omitempty"`
}

// Coordinator is the coordinator's entry of a network's plugin list.
type Coordinator struct {
	Type string `json:"type"`
	CoordinatorOptions
}

// On reads a switch of CoordinatorOptions: absent means on.
func On(b *bool) bool { return b == nil || *b }
