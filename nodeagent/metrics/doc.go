// Package metrics is the agent's Prometheus collector: per-port RDMA
// counters read from sysfs (never by running the rdma tool), NIC link and
// RDMA port state, GID table use, and the device plugin's healthy and
// registered resources, labelled node, rail, netdev and rdma_device; and the
// IPAM service's allocations, releases, failures by reason and pool use.
package metrics
