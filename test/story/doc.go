// Package story brings up the whole railnet path on one machine: the real
// control plane of test/ground with railnet's scheduler extender configured,
// the webhook (injection, validation, NAD controller) registered with the
// API server, simulated nodes (network namespaces with 8 veth rail NICs
// cabled to per-rail switch namespaces), and on each node the real node
// agent (fixture RDMA sysfs, shared device plugin, IPAM) and a mini-kubelet
// that runs the real Multus with macvlan, railnet-ipam and
// railnet-coordinator. The end-to-end suite and `make demo` both use it.
package story
