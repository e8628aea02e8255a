// Package realnode tests the test ground's real nodes themselves: two
// kubelets with containerd on one machine, each in its own network, mount
// and PID namespace and cgroup root, running pods from locally imported
// images, serving logs and exec, and surviving kubelet and containerd
// restarts. railnet's own path through real nodes is test/e2e/railpath.
package realnode
