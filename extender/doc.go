// Command extender is railnet's kube-scheduler extender: it filters nodes by
// rail health, RDMA share capacity and rail IP-pool room, and scores them by
// job locality, bin-packing and GPU↔NIC affinity. It serves the scheduler's
// filter and prioritize verbs over HTTP and/or HTTPS; the scheduler
// configuration that plugs it in comes from package schedconfig.
package main
