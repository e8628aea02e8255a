package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
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

// layoutOf turns the previous plugins' result into the interface's layout:
// the IPs on args.IfName (or with no interface index) and all routes, which
// the main plugin installed through this interface.
func layoutOf(ifName string, prev *current.Result) (coordinator.Layout, error) {
	if prev == nil {
		return coordinator.Layout{}, fmt.Errorf("railnet-coordinator: %s: no prevResult; chain it after the main plugin and its IPAM", ifName)
	}
	var addrs []coordinator.Address
	for _, ipc := range prev.IPs {
		if ipc.Interface != nil && *ipc.Interface >= 0 && *ipc.Interface < len(prev.Interfaces) &&
			prev.Interfaces[*ipc.Interface].Name != ifName {
			continue
		}
		a := coordinator.Address{IP: prefixOf(ipc.Address)}
		if gw, ok := netip.AddrFromSlice(ipc.Gateway); ok {
			a.Gateway = gw.Unmap()
		}
		addrs = append(addrs, a)
	}
	var extra []coordinator.Route
	for _, r := range prev.Routes {
		rt := coordinator.Route{Dst: prefixOf(r.Dst)}
		if gw, ok := netip.AddrFromSlice(r.GW); ok {
			rt.Gw = gw.Unmap()
		}
		extra = append(extra, rt)
	}
	return coordinator.Plan(ifName, addrs, extra)
}

func cmdAdd(args *skel.CmdArgs) (retErr error) {
	conf, prev, err := load(args)
	if err != nil {
		return err
	}
	layout, err := layoutOf(args.IfName, prev)
	if err != nil {
		return err
	}
	timeout := time.Second
	if conf.ProbeTimeout != "" {
		if timeout, err = time.ParseDuration(conf.ProbeTimeout); err != nil || timeout <= 0 {
			return fmt.Errorf("railnet-coordinator: probeTimeout %q is not a positive duration like 500ms", conf.ProbeTimeout)
		}
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
	err = netns.Do(func(ns.NetNS) error {
		// Up first: the checks send from the interface.
		if err := coordinator.SetUp(args.IfName, conf.MTU); err != nil {
			return err
		}
		if err := checks(conf, layout, prev, args.IfName, timeout); err != nil {
			return err
		}
		if !cniconf.On(conf.TunePodRoutes) {
			return nil
		}
		return coordinator.Install(layout)
	})
	if err != nil {
		return err
	}
	return types.PrintResult(prev, conf.CNIVersion)
}

// dadWait bounds the wait for the kernel's IPv6 duplicate address detection
// (the CNI plugins' own settle bound).
const dadWait = 5 * time.Second

// checks runs the checks of each address of the interface: first that no
// other station holds it (IPv4: an ARP probe; IPv6: the kernel's duplicate
// address detection), then that its gateway answers (ARP; IPv6: a neighbor
// solicitation). The interface is up already.
func checks(conf *netConf, l coordinator.Layout, prev *current.Result, ifName string, timeout time.Duration) error {
	if !cniconf.On(conf.DetectIPConflict) && !cniconf.On(conf.DetectGateway) {
		return nil
	}
	for _, ipc := range prev.IPs {
		ip, ok := netip.AddrFromSlice(ipc.Address.IP)
		if !ok || !l.Holds(ip.Unmap()) {
			continue
		}
		ip = ip.Unmap()
		gw, _ := netip.AddrFromSlice(ipc.Gateway)
		gw = gw.Unmap()
		var err error
		if ip.Is4() {
			err = checks4(conf, ifName, ip, gw, timeout)
		} else {
			err = checks6(conf, ifName, ip, gw, timeout)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func checks4(conf *netConf, ifName string, ip, gw netip.Addr, timeout time.Duration) error {
	if cniconf.On(conf.DetectIPConflict) {
		conflictWait := max(timeout/5, 100*time.Millisecond)
		hw, found, err := coordinator.Probe(ifName, netip.IPv4Unspecified(), ip, conflictWait, conflictWait/3)
		if err != nil {
			return fmt.Errorf("railnet-coordinator: %s: probe %s for a conflict: %w", ifName, ip, err)
		}
		if found {
			return addressTaken(ifName, ip, gw, hw.String()+" on the rail")
		}
	}
	if cniconf.On(conf.DetectGateway) && gw.IsValid() {
		_, found, err := coordinator.Probe(ifName, ip, gw, timeout, timeout/5)
		if err != nil {
			return fmt.Errorf("railnet-coordinator: %s: probe gateway %s from %s: %w", ifName, gw, ip, err)
		}
		if !found {
			return gatewaySilent(ifName, gw, ip, "ARP", timeout)
		}
	}
	return nil
}

// checks6 waits for the kernel's verdict on the address in any case: a
// duplicate is unusable, and the gateway check can only send from an
// address that has passed detection.
func checks6(conf *netConf, ifName string, ip, gw netip.Addr, timeout time.Duration) error {
	conflict, err := coordinator.WaitDAD(ifName, ip, max(timeout, dadWait))
	if err != nil {
		return fmt.Errorf("railnet-coordinator: %s: %w", ifName, err)
	}
	if conflict {
		return addressTaken(ifName, ip, gw, "another station on the rail (IPv6 duplicate address detection failed)")
	}
	if cniconf.On(conf.DetectGateway) && gw.IsValid() {
		_, found, err := coordinator.Solicit(ifName, ip, gw, timeout, timeout/5)
		if err != nil {
			return fmt.Errorf("railnet-coordinator: %s: solicit gateway %s from %s: %w", ifName, gw, ip, err)
		}
		if !found {
			return gatewaySilent(ifName, gw, ip, "a neighbor solicitation", timeout)
		}
	}
	return nil
}

// addressTaken is the refusal of an interface whose address holder holds.
func addressTaken(ifName string, ip, gw netip.Addr, holder string) error {
	return fmt.Errorf("railnet-coordinator: %s: address %s (gateway %s) is already used by %s; "+
		"the address was released: remove it from that host or add it to the SpiderIPPool's excludeIPs",
		ifName, ip, gwString(gw), holder)
}

// gatewaySilent is the refusal of an interface whose gateway did not answer
// probe.
func gatewaySilent(ifName string, gw, ip netip.Addr, probe string, timeout time.Duration) error {
	return fmt.Errorf("railnet-coordinator: %s: gateway %s did not answer %s from %s within %s; "+
		"the address was released: check the rail's cabling/VLAN and the SpiderIPPool's gateway, "+
		"or set coordinator.detectGateway=false", ifName, gw, probe, ip, timeout)
}

func gwString(gw netip.Addr) string {
	if !gw.IsValid() {
		return "none"
	}
	return gw.Unmap().String()
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
	return netns.Do(func(ns.NetNS) error { return coordinator.Remove(args.IfName) })
}

func cmdCheck(args *skel.CmdArgs) error {
	conf, prev, err := load(args)
	if err != nil {
		return err
	}
	layout, err := layoutOf(args.IfName, prev)
	if err != nil {
		return err
	}
	netns, err := ns.GetNS(args.Netns)
	if err != nil {
		return fmt.Errorf("railnet-coordinator: open netns %q: %w", args.Netns, err)
	}
	defer netns.Close()
	return netns.Do(func(ns.NetNS) error {
		if !cniconf.On(conf.TunePodRoutes) {
			return nil
		}
		if err := coordinator.Verify(layout, conf.MTU); err != nil {
			return fmt.Errorf("railnet-coordinator: %w", err)
		}
		return nil
	})
}

func prefixOf(n net.IPNet) netip.Prefix {
	a, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones)
}
