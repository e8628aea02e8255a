// Package agent wires the node agent daemon: it points rdmamap at the sysfs
// root, runs discovery in a loop, keeps the RDMANode status and Node labels
// current (inventory), runs the shared RDMA device plugin, with Options.DRA
// the rails DRA driver (package dra), and the metrics endpoint, and starts
// the IPAM service (Options.IPAM) alongside them.
package agent
