// Package minikubelet proves the test-only mini-kubelet: a pod bound by
// the real scheduler to a simulated node gets its network namespace through
// the real Multus thin plugin, which reads the pod and its
// NetworkAttachmentDefinition from the real API server and delegates to the
// reference plugins; deleting the pod undoes it all.
package minikubelet
