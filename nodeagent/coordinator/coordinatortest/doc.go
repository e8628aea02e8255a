// Package coordinatortest builds, for tests run as root, the network
// namespaces of a node with rail NICs: a "node" namespace whose rail NICs are
// veths, a "gateway" namespace holding their peers with the rails' gateway
// addresses (so it answers ARP for them), and an empty "pod" namespace with
// an eth0 carrying the cluster's default route.
package coordinatortest
