// Package story brings up the whole railnet path on one machine: the real
// control plane of test/ground with railnet's scheduler extender configured,
// the webhook (injection, validation, NAD controller) registered with the
// API server, simulated nodes (network namespaces with 8 veth rail NICs
// cabled to per-rail switch namespaces), and on each node the real node
// agent (fixture RDMA sysfs, shared device plugin, IPAM) and a mini-kubelet
// that runs the real Multus with macvlan, railnet-ipam and
// railnet-coordinator. With Options.DRA it adds DRA mode (test/draground):
// the rails driver in each agent, the test GPU driver on each node, the
// webhook with --dra; DRAManifests, ApplyDRAGroup and RunDRAPod take a
// DRA-mode group's pod through it. The end-to-end suite and `make demo`
// both use it.
package story
