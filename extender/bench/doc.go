// Package bench measures the extender in process: filter followed by
// prioritize through its HTTP handler, for clusters of 1,000 and 5,000 nodes
// held as the extender holds them (its own store over informers built with
// its cache options, fed from memory), against a baseline extender that only
// decodes the request and passes every node (the cost of the protocol
// itself), and the memory the extender holds with the cluster cached. Run it
// with `make bench-extender`.
package bench
