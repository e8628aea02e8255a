package coordinator

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Kernel is one netlink socket opened in a network namespace: every change
// and read of an interface's routing goes through it, from any thread (no
// ns.Do: the socket, not the thread, is in the namespace), one socket per
// plugin run instead of one per request, and an interface's index is looked
// up once.
type Kernel struct {
	h     netlinksafe.Handle
	index map[string]int
}

// OpenKernel opens a routing netlink socket in network namespace n.
func OpenKernel(n ns.NetNS) (*Kernel, error) {
	h, err := netlinksafe.NewHandleAt(netns.NsHandle(n.Fd()), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open a netlink socket in %s: %w", n.Path(), err)
	}
	return &Kernel{h: h, index: map[string]int{}}, nil
}

// Close closes the socket.
func (k *Kernel) Close() { k.h.Close() }

// link finds interface ifName and remembers its index.
func (k *Kernel) link(ifName string) (netlink.Link, error) {
	link, err := k.h.LinkByName(ifName)
	if err != nil {
		return nil, fmt.Errorf("find interface %s: %w", ifName, err)
	}
	k.index[ifName] = link.Attrs().Index
	return link, nil
}

// linkIndex is the index of interface ifName, looked up once.
func (k *Kernel) linkIndex(ifName string) (int, error) {
	if idx, ok := k.index[ifName]; ok {
		return idx, nil
	}
	link, err := k.link(ifName)
	if err != nil {
		return 0, err
	}
	return link.Attrs().Index, nil
}

// Install puts the layout into the kernel: the table's routes, then the
// rules (bring the interface up with SetUp first: the gateway routes need it).
// Installing twice is harmless, and rules of the table for addresses no
// longer in the layout are removed.
func (k *Kernel) Install(l Layout) error {
	idx, err := k.linkIndex(l.IfName)
	if err != nil {
		return err
	}
	// Link routes first: the gateway routes need their next hop on-link.
	routes := slices.Clone(l.Routes)
	slices.SortStableFunc(routes, func(a, b Route) int {
		return boolInt(a.Gw.IsValid()) - boolInt(b.Gw.IsValid())
	})
	for _, r := range routes {
		if err := k.h.RouteReplace(kernelRoute(r, idx)); err != nil {
			return fmt.Errorf("add route %q to table %d: %w", r.Render(l.IfName), l.Table, err)
		}
	}
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		have, err := k.tableRules(family, l.Table)
		if err != nil {
			return err
		}
		for _, h := range have {
			if !slices.ContainsFunc(l.Rules, func(w Rule) bool { return sameRule(h, w) }) {
				if err := k.h.RuleDel(&h); err != nil && !errors.Is(err, unix.ENOENT) {
					return fmt.Errorf("remove stale rule to table %d: %w", l.Table, err)
				}
			}
		}
		for _, w := range l.Rules {
			if familyOf(w.Src.Addr()) != family || slices.ContainsFunc(have, func(h netlink.Rule) bool { return sameRule(h, w) }) {
				continue
			}
			if err := k.h.RuleAdd(kernelRule(w)); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("add rule %q: %w", w.String(), err)
			}
		}
	}
	return nil
}

// SetUp sets the MTU of interface ifName (when mtu > 0) and brings it up;
// what already holds is not asked of the kernel again.
func (k *Kernel) SetUp(ifName string, mtu int) error {
	link, err := k.link(ifName)
	if err != nil {
		return err
	}
	if mtu > 0 && link.Attrs().MTU != mtu {
		if err := k.h.LinkSetMTU(link, mtu); err != nil {
			return fmt.Errorf("set MTU %d on %s: %w", mtu, ifName, err)
		}
	}
	if link.Attrs().Flags&net.FlagUp != 0 {
		return nil // the main plugin brought it up
	}
	if err := k.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring %s up: %w", ifName, err)
	}
	return nil
}

// Remove deletes the rules and routes of interface ifName's table. Nothing
// to remove is not an error.
func (k *Kernel) Remove(ifName string) error {
	table, err := Table(ifName)
	if err != nil {
		return err
	}
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rules, err := k.tableRules(family, table)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if err := k.h.RuleDel(&r); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("remove rule to table %d of %s: %w", table, ifName, err)
			}
		}
		routes, err := k.tableRoutes(family, table)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if err := k.h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("remove route %s from table %d of %s: %w", r.Dst, table, ifName, err)
			}
		}
	}
	return nil
}

// Verify reports the first difference between the layout and the kernel:
// a missing rule or route, or a route of the table not in the layout.
func (k *Kernel) Verify(l Layout, mtu int) error {
	link, err := k.link(l.IfName)
	if err != nil {
		return err
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		return fmt.Errorf("%s is down", l.IfName)
	}
	if mtu > 0 && link.Attrs().MTU != mtu {
		return fmt.Errorf("%s has MTU %d, the network says %d", l.IfName, link.Attrs().MTU, mtu)
	}
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rules, err := k.tableRules(family, l.Table)
		if err != nil {
			return err
		}
		for _, w := range l.Rules {
			if familyOf(w.Src.Addr()) == family && !slices.ContainsFunc(rules, func(h netlink.Rule) bool { return sameRule(h, w) }) {
				return fmt.Errorf("rule %q of %s is missing", w.String(), l.IfName)
			}
		}
		routes, err := k.tableRoutes(family, l.Table)
		if err != nil {
			return err
		}
		for _, w := range l.Routes {
			if familyOf(w.Dst.Addr()) != family {
				continue
			}
			if !slices.ContainsFunc(routes, func(h netlink.Route) bool { return sameRoute(h, w, link.Attrs().Index) }) {
				return fmt.Errorf("route %q is missing from table %d", w.Render(l.IfName), l.Table)
			}
		}
		for _, h := range routes {
			if !slices.ContainsFunc(l.Routes, func(w Route) bool { return sameRoute(h, w, link.Attrs().Index) }) {
				return fmt.Errorf("table %d of %s holds a route to %v the network does not configure", l.Table, l.IfName, h.Dst)
			}
		}
	}
	return nil
}

// tableRules lists the rules to table of one IP family. One dump of every
// family instead (it lists the multicast routing families' rules and routes
// too) measured no cheaper in BenchmarkExec: within its ±0.1 ms per process.
func (k *Kernel) tableRules(family, table int) ([]netlink.Rule, error) {
	rules, err := k.h.RuleListFiltered(family, &netlink.Rule{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list rules to table %d: %w", table, err)
	}
	return rules, nil
}

func (k *Kernel) tableRoutes(family, table int) ([]netlink.Route, error) {
	routes, err := k.h.RouteListFiltered(family, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes of table %d: %w", table, err)
	}
	return routes, nil
}

func kernelRule(r Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Priority = r.Priority
	nr.Table = r.Table
	nr.Src = ipNet(r.Src)
	nr.Family = familyOf(r.Src.Addr())
	return nr
}

func kernelRoute(r Route, idx int) *netlink.Route {
	nr := &netlink.Route{LinkIndex: idx, Dst: ipNet(r.Dst), Table: r.Table, Family: familyOf(r.Dst.Addr())}
	if r.Gw.IsValid() {
		nr.Gw = net.IP(r.Gw.AsSlice())
	} else {
		nr.Scope = netlink.SCOPE_LINK
	}
	if r.Src.IsValid() {
		nr.Src = net.IP(r.Src.AsSlice())
	}
	return nr
}

func sameRule(h netlink.Rule, w Rule) bool {
	return h.Table == w.Table && h.Priority == w.Priority && h.Src != nil && prefixOf(h.Src) == w.Src
}

func sameRoute(h netlink.Route, w Route, idx int) bool {
	dst := netip.PrefixFrom(zero(w.Dst.Addr()), 0)
	if h.Dst != nil {
		dst = prefixOf(h.Dst)
	}
	gw, _ := netip.AddrFromSlice(h.Gw)
	return h.LinkIndex == idx && dst == w.Dst && gw.Unmap() == w.Gw
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func prefixOf(n *net.IPNet) netip.Prefix {
	a, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones)
}

func familyOf(a netip.Addr) int {
	if a.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
