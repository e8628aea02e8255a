package ipamwire

import (
	"net/netip"

	"github.com/railnet/railnet/api/cniconf"
)

// DefaultSocket is where the agent serves IPAM and the plugins look for it.
const DefaultSocket = "/run/railnet/ipam.sock"

// Paths of the IPAM service; each takes a POST with a JSON body.
const (
	PathAllocate = "/v1/allocate" // Request → AllocateResponse
	PathRelease  = "/v1/release"  // ReleaseRequest → {}
	PathCheck    = "/v1/check"    // CheckRequest → {}
	PathNCCL     = "/v1/nccl"     // NCCLRequest → NCCLResponse
)

// NCCLRequest asks the agent, after an interface is set up, to find the
// pod's own RoCE v2 GID on the interface's RDMA port and to write the pod's
// NCCL conf file (package nccl).
type NCCLRequest struct {
	// PodNamespace and PodName name the pod to tell when NCCL cannot be
	// pointed at its own GIDs.
	PodNamespace string `json:"podNamespace,omitempty"`
	PodName      string `json:"podName,omitempty"`
	PodUID       string `json:"podUID"`
	IfName       string `json:"ifName"`
	// Master is the node NIC the interface sits on.
	Master string     `json:"master"`
	IP     netip.Addr `json:"ip"`
}

// NCCLResponse is what the agent found and wrote.
type NCCLResponse struct {
	HCA      string `json:"hca"`
	Port     int    `json:"port"`
	GIDIndex int    `json:"gidIndex"`
	// Warning is set when NCCL cannot be pointed at the pod's own GIDs.
	Warning string `json:"warning,omitempty"`
}

// Request asks for the addresses of one pod interface.
type Request struct {
	// Pools are the ipam.ippools of the network configuration, passed on
	// as they are.
	Pools        cniconf.Pools `json:"ippools"`
	PodNamespace string        `json:"podNamespace"`
	PodName      string        `json:"podName"`
	PodUID       string        `json:"podUID"`
	ContainerID  string        `json:"containerID"`
	IfName       string        `json:"ifName"`
}

// Address is one allocated address with what the interface needs to use it.
type Address struct {
	Pool    string       `json:"pool"`
	IP      netip.Prefix `json:"ip"` // the address with its subnet's prefix length
	Gateway netip.Addr   `json:"gateway,omitzero"`
	Routes  []Route      `json:"routes,omitempty"`
}

// Route is one of a pool's extra routes.
type Route struct {
	Dst netip.Prefix `json:"dst"`
	Gw  netip.Addr   `json:"gw"`
}

// AllocateResponse answers PathAllocate.
type AllocateResponse struct {
	Addresses []Address `json:"addresses"`
}

// ReleaseRequest is the body of PathRelease: the interface's addresses held
// for ContainerID (all of them when empty) are freed.
type ReleaseRequest struct {
	PodUID      string `json:"podUID"`
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifName"`
}

// CheckRequest is the body of PathCheck: are IPs still the interface's?
type CheckRequest struct {
	PodUID string       `json:"podUID"`
	IfName string       `json:"ifName"`
	IPs    []netip.Addr `json:"ips"`
}

// ErrorResponse carries a failure's message (any status but 200).
type ErrorResponse struct {
	Error string `json:"error"`
}
