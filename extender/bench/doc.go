// Package bench measures the extender in process: filter followed by
// prioritize through its HTTP handler, for clusters of 1,000 and 5,000 nodes,
// against a baseline extender that only decodes the request and passes every
// node (the cost of the protocol itself). Run it with `make bench-extender`.
package bench
