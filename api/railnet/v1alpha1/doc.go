// Package v1alpha1 holds railnet's own kinds, group railnet.io: RDMANode (the
// node agent's inventory of a node's rails) and IPAllocation (one object per
// allocated address, whose name makes the address unique).
//
// +kubebuilder:object:generate=true
// +groupName=railnet.io
package v1alpha1
