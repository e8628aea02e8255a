// Package ipam allocates pod addresses from SpiderIPPools. Each allocated
// address is one IPAllocation object named after pool and address, so the API
// server refusing a second object of that name is what makes an address
// unique; no shared pool object is read, modified and written on the
// allocation path (Kubernetes' ServiceCIDR allocator works the same way).
//
// The package holds the allocator, the node agent's IPAM service that the
// railnet-ipam CNI plugin calls over a unix socket, the garbage collector of
// allocations whose pod is gone, and the reconciler of the pools'
// totalIPCount/allocatedIPCount.
package ipam
