// Package poolstatus keeps each SpiderIPPool's status counters
// (totalIPCount, allocatedIPCount) equal to its usable addresses and its
// IPAllocations, and exports them as metrics while this agent keeps them.
package poolstatus
