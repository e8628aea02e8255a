// Package gpudra is a test-only GPU DRA driver ("gpu.test.railnet.io") for
// the test ground's real nodes, built on the same kubelet plugin library as
// the rails driver, like the community's example driver: it publishes the
// GPUs that discovery finds in a node's (fixture) sysfs, one device per GPU
// named gpu-<index> with the standard resource.kubernetes.io/pcieRoot, so a
// claim can pair GPUs with the rails on their PCIe root. GPUs are allocated
// whole; preparing a claim only checks that its GPUs exist (no CDI: the test
// pods use no GPU). Command cmd/railnet-test-gpu-dra runs it on a node.
package gpudra
