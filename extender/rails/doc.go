// Package rails works out which rails a pod needs: from its Multus networks
// annotation, or — as the webhook would inject it, by api/injectgroup's
// rules — from its RDMA/network inject group, through the
// SpiderMultusConfigs those name, to each rail's master NIC, IP pools and
// RDMA device-plugin resource. It is pure: the SpiderMultusConfigs, the
// namespaces' annotations and the webhook's configuration come in through a
// small lookup interface.
package rails
