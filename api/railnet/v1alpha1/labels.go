package v1alpha1

import (
	"strconv"
	"strings"
)

// Node labels the node agent mirrors from its RDMANode so that a rail change
// updates the Node object, which makes the scheduler re-queue pods that were
// unschedulable.
const (
	// LabelRailsReady holds the number of rail NICs that are up, e.g. "8".
	LabelRailsReady = "railnet.io/rails-ready"
	// LabelRailPrefix + rail index holds "up" or "down", e.g.
	// railnet.io/rail.3: down.
	LabelRailPrefix = "railnet.io/rail."
	// RailUp and RailDown are the values of a rail label.
	RailUp   = "up"
	RailDown = "down"
)

// IsNodeLabel reports whether a Node label key is one the node agent keeps
// (rails ready, rail N up/down): what an uninstall removes.
func IsNodeLabel(key string) bool {
	return key == LabelRailsReady || strings.HasPrefix(key, LabelRailPrefix)
}

// RailLabel returns the Node label key of rail index rail.
func RailLabel(rail int32) string {
	return LabelRailPrefix + strconv.Itoa(int(rail))
}

// Up reports whether the NIC's link and RDMA port both work. A NIC without
// RDMA port information (no RDMA device) counts by link alone.
func (n *NIC) Up() bool {
	if n.LinkState != "up" {
		return false
	}
	return n.RDMADevice == "" || n.PortState == "" || n.PortState == "ACTIVE"
}
