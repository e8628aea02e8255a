// Package nodeagent tests the node agent against the real API server of the
// test ground: a simulated node (veth rail NICs in a network namespace over
// the 8-rail sysfs fixture) whose RDMANode status and Node labels must
// appear and follow a rail NIC going down and up.
package nodeagent
