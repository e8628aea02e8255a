// Command railnet-dra-cni is railnet's DRA-mode CNI plugin, chained after
// the cluster network: it reads the claims the rails DRA driver prepared
// for the pod (K8S_POD_UID in CNI_ARGS; package dra's claim files) and, for
// each claimed rail in rail order, runs that rail's network configuration
// list from its own config (e.g. macvlan → railnet-ipam →
// railnet-coordinator, as the rail's SpiderMultusConfig renders it) with
// interface net<rail+1>, through libcni. The pod gets exactly the claimed
// rails; DEL removes them the same way.
package main

import (
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"
)

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{Add: cmdAdd, Del: cmdDel, Check: cmdCheck},
		version.PluginSupports("0.4.0", "1.0.0", "1.1.0"), "railnet-dra-cni: the pod's claimed rails")
}
