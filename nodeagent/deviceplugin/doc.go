// Package deviceplugin is the shared RDMA device plugin: it reads the
// k8s-rdma-shared-dev-plugin config.json format, serves one kubelet resource
// per configured name (rdmaHcaMax slots each) over the device plugin v1beta1
// gRPC API on unix sockets, hands the matched NICs' /dev/infiniband nodes to
// containers, marks a resource's devices Unhealthy while none of its matched
// NICs has link and RDMA port up (and reports which matched NICs are down),
// re-registers when the kubelet restarts and applies a
// changed config file without a restart (keeping the last good config when
// the new one is invalid).
package deviceplugin
