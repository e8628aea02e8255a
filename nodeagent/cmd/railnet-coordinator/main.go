// Command railnet-coordinator is railnet's chained CNI plugin, run after the
// main plugin (macvlan) and railnet-ipam: for the new interface netN it
// checks with ARP that the address is free and the pool gateway answers,
// sets the MTU, brings the interface up and installs its policy routing (a
// rule from the address to table 99+N holding the subnet route, the default
// route via the pool gateway and the pool routes). The cluster's default
// route stays on eth0 in the main table. See package coordinator for the
// table and rule numbering.
package main

import (
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/railnet/railnet/api/cmdline"
)

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{Add: cmdAdd, Del: cmdDel, Check: cmdCheck},
		version.PluginSupports("0.4.0", "1.0.0", "1.1.0"), cmdline.VersionLine("railnet-coordinator")+": railnet's chained CNI plugin, per-rail policy routing, MTU and ARP checks")
}
