// Package state answers the extender's questions from informer caches: it
// gathers a pod's rails and every candidate node's state (Node, RDMANode,
// RDMA slots in use, pools and their IPAllocations) and hands them to the
// pure placement functions. Slot use per node and each job's nodes are kept
// from pod events, the pools' IPAllocations (count of usable addresses,
// pods holding one) from allocation events, and a pool's room is reused
// until the pool or its IPAllocations change, so a request costs
// O(candidate nodes). It also
// remembers pods it passed for a single node until the cache shows them
// bound (slots) or allocated (addresses), following the same pod events.
// Nothing on the request path calls the API server.
package state
