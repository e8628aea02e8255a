package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/railnet/railnet/api/cmdline"
	"github.com/railnet/railnet/nodeagent/ipam/ipamwire"
	"github.com/railnet/railnet/nodeagent/nccl"
)

type flags struct {
	nodeName, sysfsRoot, kubeletRoot, netns, kubeconfig   string
	deviceConfig, metricsListen, ipamSocket, healthListen string
	ipamLeaseNamespace, rdmaNetnsMode, ncclDir, cdiDir    string
	draShares                                             int64
	dra                                                   bool
	ipamGCGrace                                           time.Duration
	rdmaMetrics, pluginWatcher                            bool
	discoveryInterval, heartbeat                          time.Duration
	rails                                                 railFlag
}

// railFlag collects repeated --rail=IFNAME=RAIL.
type railFlag map[string]int32

func (r railFlag) String() string { return fmt.Sprint(map[string]int32(r)) }

func (r railFlag) Set(v string) error {
	name, num, ok := strings.Cut(v, "=")
	n, err := strconv.ParseInt(num, 10, 32)
	if !ok || name == "" || err != nil || n < 0 {
		return fmt.Errorf("--rail=%q: want IFNAME=RAIL with RAIL a number from 0, e.g. --rail=enp11s0f0np0=0", v)
	}
	r[name] = int32(n)
	return nil
}

func bindFlags(fs *flag.FlagSet) *flags {
	f := &flags{rails: railFlag{}}
	fs.StringVar(&f.nodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	fs.StringVar(&f.sysfsRoot, "sysfs-root", "/", "folder standing for / when reading /sys and /dev/infiniband")
	fs.StringVar(&f.kubeletRoot, "kubelet-root", "/var/lib/kubelet", "kubelet root folder (holds device-plugins/kubelet.sock)")
	fs.StringVar(&f.netns, "netns", "", "network namespace path whose netdevs are the NICs (default: the agent's own)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the in-cluster config, else ~/.kube/config)")
	fs.StringVar(&f.deviceConfig, "device-plugin-config", "", "shared RDMA device plugin config.json; empty turns the device plugin off")
	fs.BoolVar(&f.pluginWatcher, "device-plugin-watcher", false, "register the device plugin through the kubelet's plugin watcher (plugins_registry) instead of kubelet.sock")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "Prometheus metrics address, e.g. :9710; empty turns metrics off")
	fs.StringVar(&f.healthListen, "health-listen", "", "address of /healthz (discovery fresh, device plugin registered, IPAM socket present), e.g. 127.0.0.1:9712; empty turns it off")
	fs.BoolVar(&f.rdmaMetrics, "rdma-metrics", true, "export per-port RDMA counters from sysfs")
	fs.StringVar(&f.ipamSocket, "ipam-socket", ipamwire.DefaultSocket, "unix socket of the IPAM service (empty turns IPAM off)")
	fs.StringVar(&f.ipamLeaseNamespace, "ipam-lease-namespace", "", "namespace of the Lease electing the one agent that keeps SpiderIPPool counters (empty: this agent never does)")
	fs.StringVar(&f.rdmaNetnsMode, "rdma-netns-mode", "", "RDMA netns mode to report instead of asking the kernel (shared or exclusive); for nodes whose RDMA sits behind a fixture sysfs tree, as in railnet's simulated nodes")
	fs.StringVar(&f.ncclDir, "nccl-dir", nccl.DefaultDir, "host folder of the pods' NCCL conf files (one folder per pod UID, written after CNI ADD with the pod's own RoCE GIDs); empty turns them off")
	fs.DurationVar(&f.ipamGCGrace, "ipam-gc-grace", 5*time.Minute, "how old an address of a gone pod must be before the agent releases it")
	fs.DurationVar(&f.discoveryInterval, "discovery-interval", 2*time.Second, "how often NICs, ports and links are re-read")
	fs.DurationVar(&f.heartbeat, "heartbeat", 30*time.Second, "how often an unchanged RDMANode status is confirmed")
	fs.BoolVar(&f.dra, "dra", false, "run the rails DRA driver (rails.railnet.io): publish the rail NICs as a ResourceSlice and prepare claims (DRA mode; the device plugin keeps running when configured)")
	fs.Int64Var(&f.draShares, "dra-shares", 0, "with --dra, how many allocations one rail NIC takes (its consumable \"shares\" capacity; 0 = 100)")
	fs.StringVar(&f.cdiDir, "cdi-dir", "/var/run/cdi", "with --dra, where the CDI specs of prepared claims are written (the container runtime's CDI spec folder)")
	fs.Var(f.rails, "rail", "IFNAME=RAIL rail of a NIC, repeatable; overrides SpiderMultusConfig masters and GPU affinity")
	return f
}

// command is railnet-agent as --help shows it.
var command = cmdline.Command{Name: "railnet-agent",
	Description: "railnet's node agent: RDMA discovery, RDMANode inventory and rail labels, shared RDMA device plugin, IPAM service, metrics",
	Subcommands: []string{"install-cni: copy the CNI plugins shipped with the agent (railnet-ipam, railnet-coordinator, railnet-dra-cni) into the node's CNI folder",
		"nccl-env --pod-uid=UID: which GID NCCL uses on each of a pod's rails with railnet's conf file, and whether it is the pod's own"}}
