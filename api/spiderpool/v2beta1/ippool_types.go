package v2beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SpiderIPPool is a pool of addresses on one subnet, from which railnet's IPAM
// hands out one address per pod interface.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=sp,categories={spiderpool,railnet}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="VERSION",type=integer,JSONPath=`.spec.ipVersion`,description="IP version"
// +kubebuilder:printcolumn:name="SUBNET",type=string,JSONPath=`.spec.subnet`,description="subnet"
// +kubebuilder:printcolumn:name="ALLOCATED-IP-COUNT",type=integer,JSONPath=`.status.allocatedIPCount`,description="allocated addresses"
// +kubebuilder:printcolumn:name="TOTAL-IP-COUNT",type=integer,JSONPath=`.status.totalIPCount`,description="usable addresses"
// +kubebuilder:printcolumn:name="DEFAULT",type=boolean,JSONPath=`.spec.default`,description="default pool"
// +kubebuilder:printcolumn:name="GATEWAY",type=string,JSONPath=`.spec.gateway`,priority=1
// +kubebuilder:printcolumn:name="DISABLE",type=boolean,JSONPath=`.spec.disable`,priority=1
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`,priority=1
type SpiderIPPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   IPPoolSpec   `json:"spec,omitempty"`
	Status IPPoolStatus `json:"status,omitempty"`
}

// IPPoolSpec is what an operator writes about a pool.
type IPPoolSpec struct {
	// IPVersion is 4 or 6; the webhook infers it from the subnet when unset.
	// +kubebuilder:validation:Enum=4;6
	// +optional
	IPVersion *int64 `json:"ipVersion,omitempty"`

	// Subnet in CIDR form, e.g. 172.16.11.0/24.
	// +kubebuilder:validation:MinLength=1
	Subnet string `json:"subnet"`

	// IPs lists single addresses and ranges "first-last" inside the subnet.
	// +optional
	IPs []string `json:"ips,omitempty"`

	// ExcludeIPs lists addresses and ranges that are never handed out.
	// +optional
	ExcludeIPs []string `json:"excludeIPs,omitempty"`

	// Gateway of the subnet; the coordinator installs it as the default route
	// of the interface's routing table.
	// +optional
	Gateway *string `json:"gateway,omitempty"`

	// Routes are added to the interface's routing table.
	// +optional
	Routes []Route `json:"routes,omitempty"`

	// NodeName restricts the pool to these nodes.
	// +optional
	NodeName []string `json:"nodeName,omitempty"`

	// NodeAffinity restricts the pool to nodes whose labels match.
	// +optional
	NodeAffinity *metav1.LabelSelector `json:"nodeAffinity,omitempty"`

	// Default marks a pool used when a network names no pool.
	// +optional
	Default *bool `json:"default,omitempty"`

	// Disable stops new allocations; existing ones stay.
	// +optional
	Disable *bool `json:"disable,omitempty"`
}

// Route is one extra route for the interface's table.
type Route struct {
	// Dst in CIDR form.
	// +kubebuilder:validation:MinLength=1
	Dst string `json:"dst"`
	// Gw is the next hop.
	// +kubebuilder:validation:MinLength=1
	Gw string `json:"gw"`
}

// IPPoolStatus is kept by railnet's pool reconciler from the IPAllocation
// objects of the pool.
type IPPoolStatus struct {
	// TotalIPCount is the number of addresses the pool can hand out.
	// +optional
	TotalIPCount *int64 `json:"totalIPCount,omitempty"`
	// AllocatedIPCount is the number of addresses currently allocated.
	// +optional
	AllocatedIPCount *int64 `json:"allocatedIPCount,omitempty"`
}

// SpiderIPPoolList is a list of SpiderIPPools.
//
// +kubebuilder:object:root=true
type SpiderIPPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SpiderIPPool `json:"items"`
}
