// Package collect releases IPAllocations whose pod is gone (deleted,
// replaced, finished or moved to another node), on one node or, for the
// elected agent, in the whole cluster, including nodes that no longer exist.
package collect
