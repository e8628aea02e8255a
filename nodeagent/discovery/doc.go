// Package discovery finds a node's RDMA NICs, GPUs and rails: it reads the
// PCI and RDMA sysfs trees under an injected root (fixture trees in tests,
// "/" on a node), the netdevs' state through netlink (retrying interrupted
// dumps), and the RDMA subsystem's network-namespace mode. The result is the
// status the agent writes into the node's RDMANode.
//
// Rails. A NIC's rail is, in order of precedence:
//  1. the rail given for its netdev name in the agent configuration
//     (Options.Rails.ByIfName), when that map is not empty;
//  2. else its position in the cluster's rail masters: the macvlan/ipvlan
//     masters of all SpiderMultusConfigs, de-duplicated and sorted in natural
//     order (enp11s0f0np0 … enp18s0f0np0; eth2 before eth10), see RailMasters.
//     The index is cluster-wide, so a node missing one master keeps the other
//     rails' numbers;
//  3. else GPU affinity: NICs whose nearest GPU shares a PCIe switch with them
//     (PIX or PXB), ordered by that GPU's index (then PCIe distance, then PCI
//     address), numbered from 0. When no NIC has such a GPU (a node without
//     GPUs) every RDMA NIC is a rail, in PCI address order.
//
// NICs not covered by the chosen source have no rail.
//
// sysfs and rdmamap. Discovery reads the PCI and RDMA attributes itself under
// the injected root, so one process can discover several roots (tests do).
// rdmamap v1.2.0 keeps its paths in package variables; PointRdmamap sets them
// once per process (the agent at start-up, a test binary in its TestMain),
// and CharDevices (/dev/infiniband nodes for the device plugin) and
// PortCounters (sysfs counters for metrics) go through rdmamap.
package discovery
