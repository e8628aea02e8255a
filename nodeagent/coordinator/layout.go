package coordinator

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Table numbering. An interface named netN (N ≥ 1, Multus' default names
// net1, net2, …) gets routing table TableBase+N-1: net1→100, net2→101, …,
// net8→107, as in the seed's `ip route show table 100` showing net1. The
// number depends on the name only, never on how many links or rules exist,
// so ADD, CHECK and DEL of one interface always agree and two interfaces
// never share a table.
//
// Rule priorities follow the seed's `ip rule` listing: net1 32762, net2
// 32763, net3 32764 and net4 onwards 32765; all sit before the main table's
// 32766. Each rule matches one source address, so equal priorities never
// compete.
const (
	TableBase    = 100
	MaxInterface = 1000 // netN above this is refused (tables 100–1099)
	priorityBase = 32761
	priorityMax  = 32765
)

// Table returns the routing table of interface ifName.
func Table(ifName string) (int, error) {
	n, err := index(ifName)
	if err != nil {
		return 0, err
	}
	return TableBase + n - 1, nil
}

// Priority returns the priority of the rule of interface ifName.
func Priority(ifName string) (int, error) {
	n, err := index(ifName)
	if err != nil {
		return 0, err
	}
	return min(priorityBase+n, priorityMax), nil
}

func index(ifName string) (int, error) {
	digits, ok := strings.CutPrefix(ifName, "net")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n < 1 || n > MaxInterface || digits != strconv.Itoa(n) {
		return 0, fmt.Errorf("railnet-coordinator: interface %q is not named net1…net%d, so it has no routing table; "+
			"leave the interface name to Multus (net1, net2, …) or name it netN in the networks annotation", ifName, MaxInterface)
	}
	return n, nil
}

// Address is what IPAM gave an interface.
type Address struct {
	IP      netip.Prefix // the address with its subnet's prefix length
	Gateway netip.Addr   // may be invalid: then the table has no default route
}

// Route is one route of a layout.
type Route struct {
	Table int
	Dst   netip.Prefix
	Gw    netip.Addr // invalid for a link route
	Src   netip.Addr // valid for the subnet's link route
}

// Rule is one policy rule of a layout.
type Rule struct {
	Priority int
	Src      netip.Prefix
	Table    int
}

// Layout is everything the coordinator installs for one interface.
type Layout struct {
	IfName string
	Table  int
	Rules  []Rule
	Routes []Route
}

// Plan computes the layout of interface ifName holding addrs, with the
// pool routes extra (destination via gateway). Per address: a rule "from
// IP/32 (or /128) lookup table", the subnet's link route with the address
// as source, the default route via the pool gateway, and each pool route.
// The cluster's default route stays on eth0 in main: nothing here touches
// main. The pool routes the main plugin (macvlan) installed in main stay
// there too (its CHECK expects them); the table gets its own copy.
func Plan(ifName string, addrs []Address, extra []Route) (Layout, error) {
	table, err := Table(ifName)
	if err != nil {
		return Layout{}, err
	}
	prio, _ := Priority(ifName)
	l := Layout{IfName: ifName, Table: table}
	if len(addrs) == 0 {
		return Layout{}, fmt.Errorf("railnet-coordinator: %s has no address from IPAM; put an ipam section (railnet-ipam) in the main plugin", ifName)
	}
	for _, a := range addrs {
		ip := a.IP.Addr()
		if !ip.IsValid() {
			return Layout{}, fmt.Errorf("railnet-coordinator: %s: IPAM returned an invalid address", ifName)
		}
		if a.Gateway.IsValid() && (a.Gateway.Is4() != ip.Is4() || !a.IP.Masked().Contains(a.Gateway)) {
			return Layout{}, fmt.Errorf("railnet-coordinator: %s: gateway %s is not in the subnet %s of %s; fix spec.gateway of the SpiderIPPool",
				ifName, a.Gateway, a.IP.Masked(), ip)
		}
		l.Rules = append(l.Rules, Rule{Priority: prio, Src: netip.PrefixFrom(ip, ip.BitLen()), Table: table})
		l.Routes = append(l.Routes, Route{Table: table, Dst: a.IP.Masked(), Src: ip})
		if a.Gateway.IsValid() {
			l.Routes = append(l.Routes, Route{Table: table, Dst: netip.PrefixFrom(zero(ip), 0), Gw: a.Gateway})
		}
	}
	for _, r := range extra {
		if !r.Dst.IsValid() {
			continue
		}
		gw := r.Gw
		if !gw.IsValid() {
			gw = gatewayFor(addrs, r.Dst.Addr())
		}
		if r.Dst.Bits() == 0 && gw == gatewayFor(addrs, r.Dst.Addr()) {
			continue // the same default route the gateway already gives
		}
		l.Routes = append(l.Routes, Route{Table: table, Dst: r.Dst.Masked(), Gw: gw})
	}
	return l, nil
}

func zero(ip netip.Addr) netip.Addr {
	if ip.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

func gatewayFor(addrs []Address, dst netip.Addr) netip.Addr {
	for _, a := range addrs {
		if a.Gateway.IsValid() && a.Gateway.Is4() == dst.Is4() {
			return a.Gateway
		}
	}
	return netip.Addr{}
}

// Holds reports whether ip is one of the layout's source addresses.
func (l Layout) Holds(ip netip.Addr) bool {
	for _, r := range l.Rules {
		if r.Src.Addr() == ip {
			return true
		}
	}
	return false
}

// String renders a rule as `ip rule` prints it.
func (r Rule) String() string {
	src := r.Src.Addr().String()
	if r.Src.Bits() != r.Src.Addr().BitLen() {
		src = r.Src.String()
	}
	return fmt.Sprintf("%d:\tfrom %s lookup %d", r.Priority, src, r.Table)
}

// Render renders a route as `ip route show table N` prints it for dev.
func (r Route) Render(dev string) string {
	dst := r.Dst.String()
	if r.Dst.Bits() == 0 {
		dst = "default"
	} else if r.Dst.Bits() == r.Dst.Addr().BitLen() {
		dst = r.Dst.Addr().String()
	}
	switch {
	case r.Gw.IsValid():
		return fmt.Sprintf("%s via %s dev %s", dst, r.Gw, dev)
	case r.Src.IsValid():
		return fmt.Sprintf("%s dev %s scope link src %s", dst, dev, r.Src)
	default:
		return fmt.Sprintf("%s dev %s scope link", dst, dev)
	}
}
