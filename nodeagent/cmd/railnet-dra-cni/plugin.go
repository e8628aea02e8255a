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

	"github.com/railnet/railnet/nodeagent/dra"
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
		c.ClaimsDir = filepath.Dir(dra.ClaimFile("/var/lib/kubelet", "x"))
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

// railLists returns the configuration list and runtime of each claimed rail.
func railLists(c *conf, args *skel.CmdArgs) ([]*libcni.NetworkConfigList, []*libcni.RuntimeConf, error) {
	pairs, uid := cniArgs(args.Args)
	if uid == "" {
		return nil, nil, fmt.Errorf("railnet-dra-cni: CNI_ARGS has no K8S_POD_UID; the container runtime must pass the pod's UID (containerd and CRI-O do)")
	}
	claims, err := dra.ReadClaimFiles(c.ClaimsDir)
	if err != nil {
		return nil, nil, fmt.Errorf("railnet-dra-cni: %w", err)
	}
	var lists []*libcni.NetworkConfigList
	var rts []*libcni.RuntimeConf
	for _, r := range dra.RailsForPod(claims, uid) {
		raw, ok := c.Rails[strconv.Itoa(int(r.Rail))]
		if !ok {
			return nil, nil, fmt.Errorf("railnet-dra-cni: pod %s claimed rail %d (%s), and network %q has no configuration for rail %d; add it under \"rails\"", uid, r.Rail, r.Netdev, c.Name, r.Rail)
		}
		list, err := libcni.ConfListFromBytes(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("railnet-dra-cni: network %q rail %d: %w", c.Name, r.Rail, err)
		}
		lists = append(lists, list)
		rts = append(rts, &libcni.RuntimeConf{ContainerID: args.ContainerID, NetNS: args.Netns, IfName: dra.InterfaceName(r.Rail),
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
		base := len(out.Interfaces)
		out.Interfaces = append(out.Interfaces, r.Interfaces...)
		for _, ip := range r.IPs {
			if ip.Interface != nil {
				ip.Interface = current.Int(*ip.Interface + base)
			}
			out.IPs = append(out.IPs, ip)
		}
	}
	return types.PrintResult(out, c.CNIVersion)
}

func cmdDel(args *skel.CmdArgs) error {
	c, err := load(args)
	if err != nil {
		return err
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
