// Command railnet-ipam is railnet's IPAM CNI plugin. It asks the node agent's
// IPAM service (a unix socket) for addresses from the SpiderIPPools the
// network names in ipamwire.ippools, and returns them with the pools' gateways
// and routes for railnet-coordinator to install.
//
// The socket is RAILNET_IPAM_SOCKET when set, else ipam.socket of the
// network configuration, else /run/railnet/ipam.sock. DEL succeeds when no
// agent listens there (the agent's collector releases later), so a pod's
// teardown never hangs on a dead agent.
package main

import (
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/railnet/railnet/api/cmdline"
)

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{Add: cmdAdd, Del: cmdDel, Check: cmdCheck},
		version.PluginSupports("0.4.0", "1.0.0", "1.1.0"), cmdline.VersionLine("railnet-ipam")+": railnet's IPAM CNI plugin, addresses from SpiderIPPools through the node agent")
}
