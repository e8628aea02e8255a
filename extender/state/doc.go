// Package state answers the extender's questions from informer caches: it
// gathers a pod's rails and every candidate node's state (Node, RDMANode,
// pods bound there, pools and their IPAllocations) and hands them to the pure
// placement functions. It also remembers pods it passed for a single node
// until the cache shows them bound, so their RDMA slots and addresses count.
// Nothing on the request path calls the API server.
package state
