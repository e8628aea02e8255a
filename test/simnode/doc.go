// Package simnode builds simulated AI nodes out of network namespaces: a
// "switch" namespace per rail holding a bridge that answers as the rail's
// gateway, and per node a namespace whose rail NICs are veths cabled to the
// rail switches — NIC i of every node on switch i, as in a rail-optimised
// fabric. Tests only; requires root.
package simnode
