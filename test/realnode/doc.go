// Package realnode runs real Kubernetes nodes on one machine for the test
// ground: per node a kubelet (built like the control plane) and Debian's
// containerd + runc, in the node's own network namespace (its rail NICs and an
// uplink to a host bridge that carries the node addresses), its own mount
// namespace (private kubelet, containerd, CNI, /run and /var/log folders,
// /dev/infiniband character devices) and PID namespace (nodeinit is its
// process 1), and its own cgroup root. Images are OCI tarballs built here and
// imported into the node's containerd: there is no registry. Everything a node
// started dies with its nodeinit, and its cgroups are removed when the test
// ends. Tests only; requires root.
package realnode
