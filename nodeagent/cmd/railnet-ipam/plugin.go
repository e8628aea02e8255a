package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/railnet/railnet/api/cniconf"
	"github.com/railnet/railnet/nodeagent/ipam/ipamwire"
)

// netConf is the part of the network configuration this plugin reads.
type netConf struct {
	types.NetConf
	IPAM cniconf.IPAM `json:"ipam"`
}

func load(args *skel.CmdArgs) (*netConf, *ipamwire.K8sArgs, *ipamwire.Client, error) {
	conf := &netConf{}
	if err := json.Unmarshal(args.StdinData, conf); err != nil {
		return nil, nil, nil, fmt.Errorf("railnet-ipam: parse network configuration: %w", err)
	}
	ka := &ipamwire.K8sArgs{}
	if err := types.LoadArgs(args.Args, ka); err != nil {
		return nil, nil, nil, fmt.Errorf("railnet-ipam: parse CNI_ARGS: %w", err)
	}
	return conf, ka, ipamwire.NewClient(ipamwire.Socket(conf.IPAM.Socket)), nil
}

func cmdAdd(args *skel.CmdArgs) error {
	conf, ka, c, err := load(args)
	if err != nil {
		return err
	}
	if ka.K8S_POD_UID == "" || ka.K8S_POD_NAME == "" {
		return fmt.Errorf("railnet-ipam: %s needs K8S_POD_NAMESPACE, K8S_POD_NAME and K8S_POD_UID in CNI_ARGS (run it from Multus or a Kubernetes runtime)", args.IfName)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	addrs, err := c.Allocate(ctx, ipamwire.Request{
		Pools:        conf.IPAM.IPPools,
		PodNamespace: string(ka.K8S_POD_NAMESPACE), PodName: string(ka.K8S_POD_NAME), PodUID: string(ka.K8S_POD_UID),
		ContainerID: args.ContainerID, IfName: args.IfName,
	})
	if err != nil {
		return err
	}
	return types.PrintResult(result(addrs), conf.CNIVersion)
}

// result turns the service's answer into a CNI result: one IP per address
// with its gateway, and the pools' routes.
func result(addrs []ipamwire.Address) *current.Result {
	res := &current.Result{CNIVersion: current.ImplementedSpecVersion}
	for _, a := range addrs {
		ipc := &current.IPConfig{Address: *prefixToIPNet(a.IP)}
		if a.Gateway.IsValid() {
			ipc.Gateway = net.IP(a.Gateway.AsSlice())
		}
		res.IPs = append(res.IPs, ipc)
		for _, r := range a.Routes {
			res.Routes = append(res.Routes, &types.Route{Dst: *prefixToIPNet(r.Dst), GW: net.IP(r.Gw.AsSlice())})
		}
	}
	return res
}

func cmdDel(args *skel.CmdArgs) error {
	_, ka, c, err := load(args)
	if err != nil {
		return err
	}
	if ka.K8S_POD_UID == "" {
		// Nothing can be looked up without the pod; the garbage collector
		// releases what such a DEL would have.
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	err = c.Release(ctx, ipamwire.ReleaseRequest{PodUID: string(ka.K8S_POD_UID), ContainerID: args.ContainerID, IfName: args.IfName})
	if errors.Is(err, ipamwire.ErrUnreachable) || errors.Is(err, ipamwire.ErrInterrupted) {
		// DEL is best effort and must not fail while the agent is down (or
		// dies mid-call), or the runtime retries the pod's teardown for
		// ever. The agent's collector releases the addresses of pods that
		// are gone.
		fmt.Fprintf(os.Stderr, "railnet-ipam: DEL of %s in container %s: %v; leaving the release to the agent's collector\n", args.IfName, args.ContainerID, err)
		return nil
	}
	return err
}

func cmdCheck(args *skel.CmdArgs) error {
	conf, ka, c, err := load(args)
	if err != nil {
		return err
	}
	if err := version.ParsePrevResult(&conf.NetConf); err != nil {
		return err
	}
	var ips []netip.Addr
	if conf.PrevResult != nil {
		prev, err := current.NewResultFromResult(conf.PrevResult)
		if err != nil {
			return err
		}
		for _, ipc := range prev.IPs {
			if a, ok := netip.AddrFromSlice(ipc.Address.IP); ok {
				ips = append(ips, a.Unmap())
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()
	return c.Check(ctx, ipamwire.CheckRequest{PodUID: string(ka.K8S_POD_UID), IfName: args.IfName, IPs: ips})
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}
