package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/railnet/railnet/api/cniconf"
	"github.com/railnet/railnet/nodeagent/coordinator"
	"github.com/railnet/railnet/nodeagent/ipam/ipamwire"
)

// netConf is the coordinator's entry of the network's plugin list.
type netConf struct {
	types.NetConf
	cniconf.CoordinatorOptions
}

func load(args *skel.CmdArgs) (*netConf, *current.Result, error) {
	conf := &netConf{}
	if err := json.Unmarshal(args.StdinData, conf); err != nil {
		return nil, nil, fmt.Errorf("railnet-coordinator: parse network configuration: %w", err)
	}
	if err := version.ParsePrevResult(&conf.NetConf); err != nil {
		return nil, nil, fmt.Errorf("railnet-coordinator: parse prevResult: %w", err)
	}
	var prev *current.Result
	if conf.PrevResult != nil {
		r, err := current.NewResultFromResult(conf.PrevResult)
		if err != nil {
			return nil, nil, fmt.Errorf("railnet-coordinator: convert prevResult: %w", err)
		}
		prev = r
	}
	return conf, prev, nil
}

// plan reads the interface's addresses from the previous plugins' result
// and plans its layout.
func plan(ifName string, prev *current.Result) ([]coordinator.Address, coordinator.Layout, error) {
	addrs, extra, err := coordinator.FromResult(ifName, prev)
	if err != nil {
		return nil, coordinator.Layout{}, err
	}
	layout, err := coordinator.Plan(ifName, addrs, extra)
	return addrs, layout, err
}

func cmdAdd(args *skel.CmdArgs) (retErr error) {
	conf, prev, err := load(args)
	if err != nil {
		return err
	}
	addrs, layout, err := plan(args.IfName, prev)
	if err != nil {
		return err
	}
	checks, err := coordinator.ChecksOf(conf.CoordinatorOptions)
	if err != nil {
		return err
	}
	netns, err := ns.GetNS(args.Netns)
	if err != nil {
		return fmt.Errorf("railnet-coordinator: open netns %q: %w", args.Netns, err)
	}
	defer netns.Close()

	defer func() {
		if retErr != nil {
			release(conf, args)
		}
	}()
	k, err := coordinator.OpenKernel(netns)
	if err != nil {
		return err
	}
	defer k.Close()
	// Up first: the checks send from the interface.
	if err := k.SetUp(args.IfName, conf.MTU); err != nil {
		return err
	}
	if checks.On() {
		// The probes' sockets open in the namespace of their thread.
		if err := netns.Do(func(ns.NetNS) error { return checks.Run(args.IfName, addrs) }); err != nil {
			return err
		}
	}
	if cniconf.On(conf.TunePodRoutes) {
		if err := k.Install(layout); err != nil {
			return err
		}
	}
	if conf.RDMAMaster != "" {
		nccl(conf, args, addrs)
	}
	return types.PrintResult(prev, conf.CNIVersion)
}

// nccl asks the node agent to find the interface's own RoCE GID and write
// the pod's NCCL conf file. The interface works without it, so nothing here
// fails the ADD: the agent logs and the conf file says what went wrong.
func nccl(conf *netConf, args *skel.CmdArgs, addrs []coordinator.Address) {
	ka := &ipamwire.K8sArgs{}
	if err := types.LoadArgs(args.Args, ka); err != nil || ka.K8S_POD_UID == "" || len(addrs) == 0 {
		return
	}
	ip := addrs[0].IP.Addr()
	for _, a := range addrs {
		if a.IP.Addr().Is4() { // NCCL's default address family
			ip = a.IP.Addr()
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = ipamwire.NewClient(ipamwire.Socket(conf.IPAMSocket)).NCCL(ctx, ipamwire.NCCLRequest{
		PodNamespace: string(ka.K8S_POD_NAMESPACE), PodName: string(ka.K8S_POD_NAME),
		PodUID: string(ka.K8S_POD_UID), IfName: args.IfName, Master: conf.RDMAMaster, IP: ip})
}

// release gives the interface's address back to the node agent after a
// failed check, so the pod's retry (or another pod) can take a good one.
// The runtime's DEL would release it too; this does not wait for it.
func release(conf *netConf, args *skel.CmdArgs) {
	ka := &ipamwire.K8sArgs{}
	if err := types.LoadArgs(args.Args, ka); err != nil || ka.K8S_POD_UID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = ipamwire.NewClient(ipamwire.Socket(conf.IPAMSocket)).Release(ctx, ipamwire.ReleaseRequest{
		PodUID: string(ka.K8S_POD_UID), ContainerID: args.ContainerID, IfName: args.IfName})
}

func cmdDel(args *skel.CmdArgs) error {
	if _, err := coordinator.Table(args.IfName); err != nil {
		return nil // never installed anything for such an interface
	}
	if args.Netns == "" {
		return nil
	}
	netns, err := ns.GetNS(args.Netns)
	if err != nil {
		var notExist ns.NSPathNotExistErr
		if errors.As(err, &notExist) {
			return nil // the sandbox is gone and its rules with it
		}
		return fmt.Errorf("railnet-coordinator: open netns %q: %w", args.Netns, err)
	}
	defer netns.Close()
	k, err := coordinator.OpenKernel(netns)
	if err != nil {
		return err
	}
	defer k.Close()
	return k.Remove(args.IfName)
}

func cmdCheck(args *skel.CmdArgs) error {
	conf, prev, err := load(args)
	if err != nil {
		return err
	}
	_, layout, err := plan(args.IfName, prev)
	if err != nil {
		return err
	}
	netns, err := ns.GetNS(args.Netns)
	if err != nil {
		return fmt.Errorf("railnet-coordinator: open netns %q: %w", args.Netns, err)
	}
	defer netns.Close()
	if !cniconf.On(conf.TunePodRoutes) {
		return nil
	}
	k, err := coordinator.OpenKernel(netns)
	if err != nil {
		return err
	}
	defer k.Close()
	if err := k.Verify(layout, conf.MTU); err != nil {
		return fmt.Errorf("railnet-coordinator: %w", err)
	}
	return nil
}
