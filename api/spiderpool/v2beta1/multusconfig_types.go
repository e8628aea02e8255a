package v2beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CNI types a SpiderMultusConfig can render.
const (
	CNITypeMacvlan = "macvlan"
	CNITypeIPVlan  = "ipvlan"
	CNITypeSRIOV   = "sriov"
	CNITypeIBSRIOV = "ib-sriov"
	CNITypeIPoIB   = "ipoib"
)

// SpiderMultusConfig describes one secondary network; railnet renders it into
// a Multus NetworkAttachmentDefinition of the same namespace and name.
//
// The seed guide also writes rdmaResourceName and ippools directly under spec,
// and enableRdma under macvlan; the schema keeps those fields so the API
// server does not prune them, and the webhook moves them to their canonical
// place with a warning.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=smc,categories={spiderpool,railnet}
// +kubebuilder:printcolumn:name="CNITYPE",type=string,JSONPath=`.spec.cniType`
// +kubebuilder:printcolumn:name="MASTER",type=string,JSONPath=`.spec.macvlan.master`
// +kubebuilder:printcolumn:name="RDMA-RESOURCE",type=string,JSONPath=`.spec.macvlan.rdmaResourceName`
// +kubebuilder:printcolumn:name="IPV4-POOLS",type=string,JSONPath=`.spec.macvlan.ippools.ipv4`,priority=1
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`
type SpiderMultusConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec MultusCNIConfigSpec `json:"spec,omitempty"`
}

// MultusCNIConfigSpec is the network's configuration. Exactly one of the
// sub-configurations matching CNIType is set.
type MultusCNIConfigSpec struct {
	// CNIType selects the main CNI plugin.
	// +kubebuilder:validation:Enum=macvlan;ipvlan;sriov;ib-sriov;ipoib
	// +kubebuilder:default=macvlan
	// +optional
	CNIType *string `json:"cniType,omitempty"`

	// +optional
	Macvlan *MacvlanConfig `json:"macvlan,omitempty"`
	// +optional
	IPVlan *MacvlanConfig `json:"ipvlan,omitempty"`
	// +optional
	SRIOV *SRIOVConfig `json:"sriov,omitempty"`
	// +optional
	IBSRIOV *IBSRIOVConfig `json:"ibsriov,omitempty"`
	// +optional
	IPoIB *IPoIBConfig `json:"ipoib,omitempty"`

	// EnableCoordinator chains railnet's coordinator (policy routing, MTU,
	// gateway and IP-conflict checks) after the main plugin. Default true.
	// +optional
	EnableCoordinator *bool `json:"enableCoordinator,omitempty"`
	// +optional
	Coordinator *CoordinatorConfig `json:"coordinator,omitempty"`

	// RDMAResourceName is the seed guide's spelling of
	// spec.<cniType>.rdmaResourceName; the webhook moves it there.
	// +optional
	RDMAResourceName string `json:"rdmaResourceName,omitempty"`
	// IPPools is the seed guide's spelling of spec.<cniType>.ippools; the
	// webhook moves it there.
	// +optional
	IPPools *PoolsConfig `json:"ippools,omitempty"`
}

// MacvlanConfig configures a macvlan or ipvlan interface on a rail NIC.
type MacvlanConfig struct {
	// Master lists the parent interface; several need a bond.
	// +kubebuilder:validation:MinItems=1
	Master []string `json:"master"`
	// VlanID tags the interface; 0 means untagged.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4094
	// +optional
	VlanID *int32 `json:"vlanID,omitempty"`
	// Bond joins several masters.
	// +optional
	Bond *BondConfig `json:"bond,omitempty"`
	// MTU of the pod interface; 0 or unset inherits the master's.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MTU *int32 `json:"mtu,omitempty"`
	// EnableRdma is the seed guide's flag; railnet treats a set
	// rdmaResourceName as the source of truth and keeps this in step with it.
	// +optional
	EnableRdma bool `json:"enableRdma,omitempty"`
	// RDMAResourceName is the shared RDMA device plugin resource of the master.
	// +optional
	RDMAResourceName string `json:"rdmaResourceName,omitempty"`
	// IPPools names the SpiderIPPools to allocate from.
	// +optional
	IPPools *PoolsConfig `json:"ippools,omitempty"`
}

// BondConfig joins several masters into one bond.
type BondConfig struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=6
	Mode int32 `json:"mode"`
	// +optional
	Options *string `json:"options,omitempty"`
}

// SRIOVConfig configures an SR-IOV VF interface.
type SRIOVConfig struct {
	// +kubebuilder:validation:MinLength=1
	ResourceName string `json:"resourceName"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4094
	// +optional
	VlanID *int32 `json:"vlanID,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinTxRateMbps *int32 `json:"minTxRateMbps,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxTxRateMbps *int32 `json:"maxTxRateMbps,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	MTU *int32 `json:"mtu,omitempty"`
	// +optional
	EnableRdma bool `json:"enableRdma,omitempty"`
	// +optional
	IPPools *PoolsConfig `json:"ippools,omitempty"`
}

// IBSRIOVConfig configures an InfiniBand SR-IOV VF interface.
type IBSRIOVConfig struct {
	// +kubebuilder:validation:MinLength=1
	ResourceName string `json:"resourceName"`
	// +optional
	Pkey *string `json:"pkey,omitempty"`
	// +kubebuilder:validation:Enum=auto;enable;disable
	// +optional
	LinkState *string `json:"linkState,omitempty"`
	// +optional
	RdmaIsolation *bool `json:"rdmaIsolation,omitempty"`
	// +optional
	IBKubernetesEnabled *bool `json:"ibKubernetesEnabled,omitempty"`
	// +optional
	IPPools *PoolsConfig `json:"ippools,omitempty"`
}

// IPoIBConfig configures an IPoIB interface.
type IPoIBConfig struct {
	// +kubebuilder:validation:MinLength=1
	Master string `json:"master"`
	// +optional
	IPPools *PoolsConfig `json:"ippools,omitempty"`
}

// PoolsConfig names SpiderIPPools per IP family.
type PoolsConfig struct {
	// +optional
	IPv4 []string `json:"ipv4,omitempty"`
	// +optional
	IPv6 []string `json:"ipv6,omitempty"`
}

// CoordinatorConfig tunes railnet's coordinator plugin for this network.
type CoordinatorConfig struct {
	// DetectGateway checks with ARP/NDP that the pool gateway answers before
	// the interface is committed. Default true.
	// +optional
	DetectGateway *bool `json:"detectGateway,omitempty"`
	// DetectIPConflict probes the address before it is used. Default true.
	// +optional
	DetectIPConflict *bool `json:"detectIPConflict,omitempty"`
	// PodDefaultRouteNIC is Spiderpool's choice of the interface holding the
	// pod's default route. Accepted for compatibility and ignored, with an
	// admission warning: railnet keeps the default route on eth0.
	// +optional
	PodDefaultRouteNIC *string `json:"podDefaultRouteNIC,omitempty"`
	// TunePodRoutes installs per-interface policy routing. Default true.
	// +optional
	TunePodRoutes *bool `json:"tunePodRoutes,omitempty"`
}

// SpiderMultusConfigList is a list of SpiderMultusConfigs.
//
// +kubebuilder:object:root=true
type SpiderMultusConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SpiderMultusConfig `json:"items"`
}
