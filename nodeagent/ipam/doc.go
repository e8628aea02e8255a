// Package ipam assembles the node agent's IPAM from its four rooms and runs
// them: the allocator (alloc), the socket service the railnet-ipam CNI
// plugin calls (service), the collector of allocations whose pod is gone
// (collect) and, on the one agent holding the Lease, the reconciler of the
// pools' counters (poolstatus). It also wires the pods' NCCL conf files
// (package nccl) to the API server: their collector and the pod warnings.
package ipam
