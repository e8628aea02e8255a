package main

import (
	"context"
	"flag"
	"fmt"

	"k8s.io/klog/v2"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/restconfig"
	"github.com/railnet/railnet/nodeagent/agent"
	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/nodeagent/ipam"
	"github.com/railnet/railnet/nodeagent/metrics"
	"github.com/railnet/railnet/nodeagent/nccl"
)

// dispatch runs the subcommand args name, or the agent.
func dispatch(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "install-cni" {
		return installCNI(args[1:])
	}
	if len(args) > 0 && args[0] == "nccl-env" {
		return ncclEnv(args[1:])
	}
	fs := flag.NewFlagSet(command.Name, flag.ContinueOnError)
	f := bindFlags(fs)
	klog.InitFlags(fs)
	version := command.Setup(fs)
	if done, err := command.Parse(fs, version, args); done || err != nil {
		return err
	}
	return run(ctx, f)
}

func run(ctx context.Context, f *flags) error {
	cfg, err := restconfig.Load(f.kubeconfig)
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("starting", "node", f.nodeName, "sysfsRoot", f.sysfsRoot, "ipamSocket", f.ipamSocket)
	var netnsMode discovery.NetnsModeFunc // nil: ask the kernel
	switch f.rdmaNetnsMode {
	case "":
	case railnetv1.NetnsModeShared, railnetv1.NetnsModeExclusive:
		mode := f.rdmaNetnsMode
		netnsMode = func() (string, error) { return mode, nil }
	default:
		return fmt.Errorf("--rdma-netns-mode=%q: want shared or exclusive, or leave it empty to ask the kernel", f.rdmaNetnsMode)
	}
	var ipamService agent.Service
	var ipamMetrics *metrics.IPAM
	if f.ipamSocket != "" {
		ipamMetrics = metrics.NewIPAM(f.nodeName)
		ns := &ipam.NodeService{Config: cfg, Node: f.nodeName, Socket: f.ipamSocket,
			LeaseNamespace: f.ipamLeaseNamespace, GCGrace: f.ipamGCGrace, Metrics: ipamMetrics}
		if f.ncclDir != "" {
			root := f.sysfsRoot
			ns.NCCL = &nccl.Service{Dir: f.ncclDir,
				PortOf:   func(master string) (nccl.Port, bool) { return nccl.SysfsPort(root, master) },
				ReadPort: func(p nccl.Port) (nccl.Table, error) { return nccl.ReadPort(root, p.HCA, p.Port) }}
		}
		ipamService = ns
	}
	return agent.Run(ctx, agent.Options{
		NodeName: f.nodeName, SysfsRoot: f.sysfsRoot, NetnsPath: f.netns, KubeletRoot: f.kubeletRoot,
		DevicePluginConfig: f.deviceConfig, PluginWatcher: f.pluginWatcher, MetricsAddr: f.metricsListen, RDMACounters: f.rdmaMetrics,
		HealthAddr: f.healthListen, IPAMSocket: f.ipamSocket,
		RailsByIfName: f.rails, RestConfig: cfg, DiscoveryInterval: f.discoveryInterval, Heartbeat: f.heartbeat,
		IPAM: ipamService, IPAMMetrics: ipamMetrics, NetnsMode: netnsMode,
		DRA: f.dra, DRAShares: f.draShares, CDIDir: f.cdiDir,
	})
}
