package coordinator_test

import (
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/railnet/railnet/nodeagent/coordinator"
)

type nsNetNS = ns.NetNS

// inKernel runs f with a Kernel opened in netns n (from this test's
// namespace: the socket, not the thread, is in n).
func inKernel(n ns.NetNS, f func(*coordinator.Kernel) error) error {
	k, err := coordinator.OpenKernel(n)
	if err != nil {
		return err
	}
	defer k.Close()
	return f(k)
}

func addMainRoute(dev, dst, gw string) error {
	l, err := netlinksafe.LinkByName(dev)
	if err != nil {
		return err
	}
	_, n, _ := net.ParseCIDR(dst)
	return netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: n, Gw: net.ParseIP(gw)})
}

func delTableDefault(table int) error {
	routes, err := netlinksafe.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.Gw != nil && (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") {
			return netlink.RouteDel(&r)
		}
	}
	return nil
}

// tableListing lists, sorted, the rules to table and its routes of both IP
// families in netns n, one line each: "4 rule from SRC table T",
// "6 route DST [via GW] table T".
func tableListing(t *testing.T, n ns.NetNS, table int) []string {
	t.Helper()
	var out []string
	err := n.Do(func(ns.NetNS) error {
		for family, v := range map[int]string{netlink.FAMILY_V4: "4", netlink.FAMILY_V6: "6"} {
			rules, err := netlinksafe.RuleListFiltered(family, &netlink.Rule{Table: table}, netlink.RT_FILTER_TABLE)
			if err != nil {
				return err
			}
			for _, r := range rules {
				out = append(out, fmt.Sprintf("%s rule from %s table %d", v, r.Src, r.Table))
			}
			routes, err := netlinksafe.RouteListFiltered(family, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
			if err != nil {
				return err
			}
			for _, r := range routes {
				via := ""
				if r.Gw != nil {
					via = " via " + r.Gw.String()
				}
				out = append(out, fmt.Sprintf("%s route %s%s table %d", v, r.Dst, via, r.Table))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func setDown(name string) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetDown(l)
}

// linkState reports whether interface name in netns n is up, and its MTU.
func linkState(t *testing.T, n ns.NetNS, name string) (up bool, mtu int) {
	t.Helper()
	err := n.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		up, mtu = l.Attrs().Flags&net.FlagUp != 0, l.Attrs().MTU
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return up, mtu
}
