// Package ippool is the address arithmetic of a SpiderIPPool that the
// webhook (validation), the extender (is there room on this rail) and the
// IPAM service (which address to take) must agree on: parsing `ips` and
// `excludeIPs` entries, the usable set (ips minus excludeIPs minus the
// gateway), counting, indexing and overlap, and whether a pool serves a node.
package ippool
