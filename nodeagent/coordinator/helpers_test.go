package coordinator_test

import (
	"net"

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
