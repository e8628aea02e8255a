// Package minikubelet is a test-only stand-in for kubelet plus a container
// runtime, one per simulated node of the test ground. It serves the kubelet's
// device-plugin registration API and turns each plugin's ListAndWatch into
// the Node's capacity and allocatable; for each pod bound to its node it
// calls the plugins' Allocate, creates the pod's network namespace and runs
// the node's CNI configuration through libcni as a runtime would, then writes
// the pod's status. Nothing here ships; it exists so that railnet's real
// agent, device plugin and CNI plugins can be exercised without a kubelet.
package minikubelet
