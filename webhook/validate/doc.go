// Package validate defaults and validates SpiderIPPools and
// SpiderMultusConfigs for the admission webhook: it infers ipVersion,
// normalises the seed guide's alternative spellings into their canonical
// fields (answering with a warning that says what moved), and refuses
// malformed or conflicting objects with a message naming the field and the
// other object involved. It works on plain values; callers supply the other
// pools and the addresses in use.
//
// Pool rule (shared with the extender and the IPAM): an interface gets an
// address only from the SpiderIPPools its SpiderMultusConfig names; a config
// that names none is refused, and spec.default on a pool has no effect (a
// warning says so). Bond and VLAN settings of macvlan/ipvlan configs are
// refused: railnet creates no bond or VLAN interface, so the node must have
// it and the config names it as its master.
//
// Gateway policy: a gateway that falls inside spec.ips is excluded
// automatically (added to spec.excludeIPs) with a warning, rather than
// refused, so that a pool written the natural way still works and never hands
// the gateway's address to a pod.
package validate
