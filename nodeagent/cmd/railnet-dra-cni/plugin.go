package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/railnet/railnet/nodeagent/dra/claimfiles"
)

// conf is the plugin's configuration.
type conf struct {
	types.NetConf
	// ClaimsDir is the rails driver's claims folder (default
	// /var/lib/kubelet/plugins/rails.railnet.io/claims).
	ClaimsDir string `json:"claimsDir,omitempty"`
	// Rails maps a rail index to the configuration list its interface is
	// made with (a CNI conflist: name, cniVersion, plugins).
	Rails map[string]json.RawMessage `json:"rails"`
}

func load(args *skel.CmdArgs) (*conf, error) {
	c := &conf{}
	if err := json.Unmarshal(args.StdinData, c); err != nil {
		return nil, fmt.Errorf("railnet-dra-cni: parse the network configuration: %w", err)
	}
	if c.ClaimsDir == "" {
		c.ClaimsDir = claimfiles.Dir("/var/lib/kubelet")
	}
	if c.RawPrevResult != nil {
		if err := version.ParsePrevResult(&c.NetConf); err != nil {
			return nil, fmt.Errorf("railnet-dra-cni: prevResult: %w", err)
		}
	}
	return c, nil
}

// cniArgs splits CNI_ARGS into pairs (passed on to the rails' plugins as
// the runtime gave them: IgnoreUnknown, K8S_POD_*) and returns K8S_POD_UID.
func cniArgs(args string) (pairs [][2]string, podUID string) {
	for _, kv := range strings.Split(args, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			pairs = append(pairs, [2]string{k, v})
			if k == "K8S_POD_UID" {
				podUID = v
			}
		}
	}
	return pairs, podUID
}

// railLists returns the configuration list and runtime of each claimed rail
// (its rail number in the runtime's IfName, net<rail+1>).
func railLists(c *conf, args *skel.CmdArgs) ([]*libcni.NetworkConfigList, []*libcni.RuntimeConf, error) {
	pairs, uid := cniArgs(args.Args)
	if uid == "" {
		return nil, nil, fmt.Errorf("railnet-dra-cni: CNI_ARGS has no K8S_POD_UID; the container runtime must pass the pod's UID (containerd and CRI-O do)")
	}
	claims, err := claimfiles.ReadClaimFiles(c.ClaimsDir)
	if err != nil {
		return nil, nil, fmt.Errorf("railnet-dra-cni: %w", err)
	}
	var lists []*libcni.NetworkConfigList
	var rts []*libcni.RuntimeConf
	for _, r := range claimfiles.RailsForPod(claims, uid) {
		raw, ok := c.Rails[strconv.Itoa(int(r.Rail))]
		if !ok {
			return nil, nil, fmt.Errorf("railnet-dra-cni: pod %s claimed rail %d (%s), and network %q has no configuration for rail %d; add it under \"rails\"", uid, r.Rail, r.Netdev, c.Name, r.Rail)
		}
		list, err := libcni.ConfListFromBytes(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("railnet-dra-cni: network %q rail %d: %w", c.Name, r.Rail, err)
		}
		lists = append(lists, list)
		rts = append(rts, &libcni.RuntimeConf{ContainerID: args.ContainerID, NetNS: args.Netns, IfName: claimfiles.InterfaceName(r.Rail),
			Args: pairs})
	}
	return lists, rts, nil
}

func cniConfig() *libcni.CNIConfig {
	return libcni.NewCNIConfig(filepath.SplitList(os.Getenv("CNI_PATH")), nil)
}

func cmdAdd(args *skel.CmdArgs) error {
	c, err := load(args)
	if err != nil {
		return err
	}
	out := &current.Result{CNIVersion: current.ImplementedSpecVersion}
	if c.PrevResult != nil {
		if out, err = current.NewResultFromResult(c.PrevResult); err != nil {
			return fmt.Errorf("railnet-dra-cni: prevResult: %w", err)
		}
	}
	lists, rts, err := railLists(c, args)
	if err != nil {
		return err
	}
	_, uid := cniArgs(args.Args)
	pn := claimfiles.PodNetwork{PodUID: uid, Rails: map[int32]claimfiles.NetworkData{}}
	rails := make([]int32, len(rts))
	for i, rt := range rts {
		rails[i] = railOf(rt.IfName)
	}
	cni := cniConfig()
	for i, list := range lists {
		res, err := cni.AddNetworkList(context.Background(), list, rts[i])
		if err != nil {
			for j := i - 1; j >= 0; j-- {
				_ = cni.DelNetworkList(context.Background(), lists[j], rts[j])
			}
			return fmt.Errorf("railnet-dra-cni: %s (%s): %w", rts[i].IfName, list.Name, err)
		}
		r, err := current.NewResultFromResult(res)
		if err != nil {
			return err
		}
		pn.Rails[rails[i]] = networkData(rts[i].IfName, r)
		base := len(out.Interfaces)
		out.Interfaces = append(out.Interfaces, r.Interfaces...)
		for _, ip := range r.IPs {
			if ip.Interface != nil {
				ip.Interface = current.Int(*ip.Interface + base)
			}
			out.IPs = append(out.IPs, ip)
		}
	}
	if len(lists) > 0 {
		if err := writeNetworkFile(claimfiles.NetworkFile(c.ClaimsDir, uid), pn); err != nil {
			// The pod has its rails; only kubectl shows less.
			fmt.Fprintf(os.Stderr, "railnet-dra-cni: record the rails' network data: %v\n", err)
		}
	}
	return types.PrintResult(out, c.CNIVersion)
}

// railOf is the rail of interface net<rail+1>.
func railOf(ifName string) int32 {
	n, _ := strconv.Atoi(strings.TrimPrefix(ifName, "net"))
	return int32(n - 1)
}

// networkData is a rail's network data from its result: the interface in
// the pod's netns (the one with a sandbox), its MAC and addresses.
func networkData(ifName string, r *current.Result) claimfiles.NetworkData {
	nd := claimfiles.NetworkData{InterfaceName: ifName}
	for i, itf := range r.Interfaces {
		if itf.Name != ifName || itf.Sandbox == "" {
			continue
		}
		nd.HardwareAddress = itf.Mac
		for _, ip := range r.IPs {
			if ip.Interface != nil && *ip.Interface == i {
				nd.IPs = append(nd.IPs, ip.Address.String())
			}
		}
	}
	return nd
}

func writeNetworkFile(path string, pn claimfiles.PodNetwork) error {
	b, err := json.Marshal(pn)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func cmdDel(args *skel.CmdArgs) error {
	c, err := load(args)
	if err != nil {
		return err
	}
	if _, uid := cniArgs(args.Args); uid != "" {
		_ = os.Remove(claimfiles.NetworkFile(c.ClaimsDir, uid))
	}
	lists, rts, err := railLists(c, args)
	if err != nil {
		// DEL must not fail forever: without the claim files there is
		// nothing railnet knows to remove.
		fmt.Fprintln(os.Stderr, err)
		return nil
	}
	cni := cniConfig()
	var errs []string
	for i := len(lists) - 1; i >= 0; i-- {
		if err := cni.DelNetworkList(context.Background(), lists[i], rts[i]); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", rts[i].IfName, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("railnet-dra-cni: %s", strings.Join(errs, "; "))
	}
	return nil
}

func cmdCheck(args *skel.CmdArgs) error {
	c, err := load(args)
	if err != nil {
		return err
	}
	lists, rts, err := railLists(c, args)
	if err != nil {
		return err
	}
	cni := cniConfig()
	for i, list := range lists {
		if err := cni.CheckNetworkList(context.Background(), list, rts[i]); err != nil {
			return fmt.Errorf("railnet-dra-cni: %s: %w", rts[i].IfName, err)
		}
	}
	return nil
}
