package railpath

import (
	"fmt"
	"net"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/test/story"
)

// checkPolicyRouting looks inside the pod's network namespace: each netN has
// `from <its IP> lookup <99+N>`, and table 99+N routes the rail subnet and
// the default via the rail gateway out of netN, as the seed's step 2 shows.
func checkPolicyRouting(t *testing.T, e *story.Env, pod corev1.Pod) {
	t.Helper()
	var netnsPath string
	for _, n := range e.Nodes {
		if sb, ok := n.Kubelet.Sandbox(string(pod.UID)); ok {
			netnsPath = sb.NetnsPath
		}
	}
	if netnsPath == "" {
		t.Fatalf("no sandbox for pod %s", pod.Name)
	}
	err := ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		rules, err := netlink.RuleList(netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for i := 1; i <= 8; i++ {
			link, err := netlink.LinkByName(fmt.Sprintf("net%d", i))
			if err != nil {
				return err
			}
			addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
			if err != nil || len(addrs) != 1 {
				return fmt.Errorf("net%d addresses %v (%v)", i, addrs, err)
			}
			ip, table := addrs[0].IP, 99+i
			found := false
			for _, r := range rules {
				if r.Src != nil && r.Src.IP.Equal(ip) && r.Table == table {
					found = true
				}
			}
			if !found {
				return fmt.Errorf("no rule `from %s lookup %d` for net%d; rules: %v", ip, table, i, rules)
			}
			routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
			if err != nil {
				return err
			}
			gw := net.IPv4(172, 16, byte(10+i), 254)
			var dflt, subnet bool
			for _, r := range routes {
				if r.LinkIndex != link.Attrs().Index {
					continue
				}
				if (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.Equal(gw) {
					dflt = true
				}
				if r.Dst != nil && r.Dst.String() == fmt.Sprintf("172.16.%d.0/24", 10+i) {
					subnet = true
				}
			}
			if !dflt || !subnet {
				return fmt.Errorf("table %d of net%d lacks the default via %s or the subnet route: %v", table, i, gw, routes)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("pod %s policy routing: %v", pod.Name, err)
	}
}
