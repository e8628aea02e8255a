package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IPAllocation records that one address of one SpiderIPPool belongs to one pod
// interface. Its name is derived from the address alone (AllocationName), so
// the API server refusing a second object of that name is what keeps an
// address unique in the cluster, across pools too; no shared pool object is
// read, modified and written.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=ipa,categories={railnet}
// +kubebuilder:printcolumn:name="POOL",type=string,JSONPath=`.spec.pool`
// +kubebuilder:printcolumn:name="IP",type=string,JSONPath=`.spec.ip`
// +kubebuilder:printcolumn:name="POD-NAMESPACE",type=string,JSONPath=`.spec.podNamespace`
// +kubebuilder:printcolumn:name="POD",type=string,JSONPath=`.spec.podName`
// +kubebuilder:printcolumn:name="INTERFACE",type=string,JSONPath=`.spec.interface`
// +kubebuilder:printcolumn:name="NODE",type=string,JSONPath=`.spec.node`
// +kubebuilder:printcolumn:name="AGE",type=date,JSONPath=`.metadata.creationTimestamp`
type IPAllocation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec IPAllocationSpec `json:"spec"`
}

// IPAllocationSpec names the address and its owner. Only ContainerID may
// change: a pod whose sandbox is recreated keeps its address.
// +kubebuilder:validation:XValidation:rule="self.pool == oldSelf.pool && self.ip == oldSelf.ip && self.podNamespace == oldSelf.podNamespace && self.podName == oldSelf.podName && self.podUID == oldSelf.podUID && self.interface == oldSelf.interface && self.node == oldSelf.node",message="only spec.containerID of an IPAllocation may change; delete it and allocate again"
type IPAllocationSpec struct {
	// Pool is the SpiderIPPool's name.
	// +kubebuilder:validation:MinLength=1
	Pool string `json:"pool"`
	// IP is the allocated address, without prefix length.
	// +kubebuilder:validation:MinLength=1
	IP string `json:"ip"`
	// +kubebuilder:validation:MinLength=1
	PodNamespace string `json:"podNamespace"`
	// +kubebuilder:validation:MinLength=1
	PodName string `json:"podName"`
	// +kubebuilder:validation:MinLength=1
	PodUID string `json:"podUID"`
	// ContainerID is the sandbox the CNI ADD ran for.
	// +optional
	ContainerID string `json:"containerID,omitempty"`
	// Interface is the pod interface name, e.g. net1.
	// +kubebuilder:validation:MinLength=1
	Interface string `json:"interface"`
	// Node is where the pod runs.
	// +kubebuilder:validation:MinLength=1
	Node string `json:"node"`
}

// IPAllocationList is a list of IPAllocations.
//
// +kubebuilder:object:root=true
type IPAllocationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IPAllocation `json:"items"`
}
