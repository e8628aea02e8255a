// Package draground sets up what DRA mode needs on the test ground's real
// nodes, once for every user (test/e2e/dra, test/story and so make demo):
// the chart's rails DeviceClass and a gpu.nvidia.com DeviceClass selecting
// the test GPU driver (test/gpudra), that driver on a node, and the node
// agent's kubeconfig associated with its node as a DaemonSet pod's token
// is. Kubernetes v1.37 needs no feature gate for it (charts/railnet/docs/dra.md).
package draground
