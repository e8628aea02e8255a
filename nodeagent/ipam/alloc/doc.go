// Package alloc allocates pod addresses from SpiderIPPools. Each allocated
// address is one IPAllocation object named after pool and address, so the API
// server refusing a second object of that name is what makes an address
// unique; no shared pool object is read, modified and written on the
// allocation path (Kubernetes' ServiceCIDR allocator works the same way).
// What a pool can do for an interface and which address to try next are
// plain functions (choosePool, candidates); Allocator reads and writes. A
// pod's own allocations are listed live once for all its interfaces: the
// allocator remembers that list and its own writes for a few seconds
// (podMemo), one request of a pod at a time.
package alloc
