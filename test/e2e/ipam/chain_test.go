package ipam_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/ns"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/nodeagent/coordinator/coordinatortest"
	"github.com/railnet/railnet/nodeagent/ipam"
	"github.com/railnet/railnet/test/ground"
)

// chain is a node's CNI setup for the chain tests: the reference plugins and
// railnet's two plugins on one CNI path, the agent's IPAM (NodeService) on a
// socket, and the namespaces of a node with 8 rails.
type chain struct {
	cni  *libcni.CNIConfig
	ref  string // the reference plugins' folder
	sock string
	node *coordinatortest.Node
}

func newChain(ctx context.Context, t testing.TB, nodeName string) *chain {
	t.Helper()
	own := ground.BuildCommandsT(t, "./nodeagent/cmd/railnet-ipam", "./nodeagent/cmd/railnet-coordinator")
	ref, err := ground.BuildGoTool(ctx, ground.CNIPluginsTool())
	if err != nil {
		t.Fatal(err)
	}
	cluster.CreateNode(t, ground.NodeSpec{Name: nodeName})
	sockDir, err := os.MkdirTemp("", "ipam-chain-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "ipam.sock")
	// The agent's IPAM as the daemon runs it: cached reads, live reads of
	// the interface's own allocations, the collector.
	svc := &ipam.NodeService{Config: cluster.As("node-agent"), Node: nodeName, Socket: sock}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(sctx) }()
	t.Cleanup(func() { stop(); <-done })
	waitSocket(t, sock)
	return &chain{cni: libcni.NewCNIConfig([]string{own, ref}, nil), ref: ref, sock: sock, node: coordinatortest.NewNode(t, 8)}
}

// conflist is what the webhook renders for a seed SpiderMultusConfig on rail
// i (macvlan + railnet-ipam, then railnet-coordinator).
func (c *chain) conflist(t testing.TB, rail int, pool string) *libcni.NetworkConfigList {
	t.Helper()
	conf, err := libcni.ConfListFromBytes([]byte(c.railnetConf(rail, pool, "")))
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// railnetConf is the conflist text; coordinator holds extra keys of the
// coordinator's entry.
func (c *chain) railnetConf(rail int, pool, coordinator string) string {
	return fmt.Sprintf(`{"cniVersion":"1.0.0","name":"gpu%d-macvlan","plugins":[
	  {"type":"macvlan","master":"rail%d","mode":"bridge","mtu":4200,
	   "ipam":{"type":"railnet-ipam","ippools":{"ipv4":[%q]},"socket":%q}},
	  {"type":"railnet-coordinator","probeTimeout":"500ms","ipamSocket":%q%s}]}`, rail, rail, pool, c.sock, c.sock, coordinator)
}

func (c *chain) rt(ifName, uid string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: "sandbox-" + uid, NetNS: c.node.Pod.Path(), IfName: ifName,
		Args: [][2]string{{"IgnoreUnknown", "true"}, {"K8S_POD_NAMESPACE", "train"}, {"K8S_POD_NAME", "trainer-" + uid}, {"K8S_POD_UID", uid}}}
}

// inNode runs f in the node namespace: macvlan finds its master there.
func (c *chain) inNode(f func() error) error {
	return c.node.Node.Do(func(ns.NetNS) error { return f() })
}

func allocations(ctx context.Context, t *testing.T, pool string) []string {
	t.Helper()
	var list railnetv1.IPAllocationList
	if err := cluster.Client.List(ctx, &list, client.MatchingLabels{railnetv1.LabelPool: pool}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range list.Items {
		out = append(out, a.Spec.IP)
	}
	return out
}

// The seed's 8-rail pod through libcni: the reference macvlan plugin,
// railnet-ipam asking the agent's service (real API server) and
// railnet-coordinator give `ip rule` and `ip route show table 100..107` of
// the seed's step 2; CHECK passes; DEL leaves nothing behind.
func TestChainEightRails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c := newChain(ctx, t, "chain-node")
	for i := 1; i <= 8; i++ {
		pool := createPool(ctx, t, fmt.Sprintf("gpu%d-net1%d", i, i), fmt.Sprintf("172.16.1%d.0/24", i),
			[]string{fmt.Sprintf("172.16.1%d.10", i)}, fmt.Sprintf("172.16.1%d.254", i))
		if i == 1 {
			// A pool route: macvlan puts it into main, the coordinator
			// into the rail's table as well.
			pool.Spec.Routes = []spiderv2beta1.Route{{Dst: "10.20.0.0/16", Gw: "172.16.11.1"}}
			if err := cluster.Client.Update(ctx, pool); err != nil {
				t.Fatal(err)
			}
		}
	}
	linksBefore := c.node.Links(t)
	rulesBefore := c.node.Rules(t)
	const uid = "8c4b2f1e-0000-4000-8000-000000000001"
	start := time.Now()
	for i := 1; i <= 8; i++ {
		conf := c.conflist(t, i, fmt.Sprintf("gpu%d-net1%d", i, i))
		if err := c.inNode(func() error {
			_, err := c.cni.AddNetworkList(ctx, conf, c.rt(fmt.Sprintf("net%d", i), uid))
			return err
		}); err != nil {
			t.Fatalf("ADD net%d: %v", i, err)
		}
	}
	t.Logf("8 rails added in %s", time.Since(start))
	want := coordinatortest.SeedRuleListing()
	if got := c.node.Rules(t); !slices.Equal(got, want) {
		t.Fatalf("ip rule:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := 1; i <= 8; i++ {
		wantT := []string{
			fmt.Sprintf("172.16.1%d.0/24 dev net%d scope link src 172.16.1%d.10", i, i, i),
			fmt.Sprintf("default via 172.16.1%d.254 dev net%d", i, i),
		}
		if i == 1 {
			wantT = append([]string{"10.20.0.0/16 via 172.16.11.1 dev net1"}, wantT...)
		}
		if got := c.node.Routes(t, 99+i); !slices.Equal(got, wantT) {
			t.Fatalf("ip route show table %d: %q, want %q", 99+i, got, wantT)
		}
	}
	wantMain := []string{"10.20.0.0/16 via 172.16.11.1 dev net1", "169.254.1.1 dev eth0 scope link"}
	for i := 1; i <= 8; i++ {
		wantMain = append(wantMain, fmt.Sprintf("172.16.1%d.0/24 dev net%d proto kernel scope link src 172.16.1%d.10", i, i, i))
	}
	wantMain = append(wantMain, "default via 169.254.1.1 dev eth0")
	if got := c.node.Routes(t, 254); !slices.Equal(got, wantMain) {
		t.Fatalf("ip route show table main:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantMain, "\n"))
	}
	for i := 1; i <= 8; i++ {
		conf := c.conflist(t, i, fmt.Sprintf("gpu%d-net1%d", i, i))
		if err := c.inNode(func() error { return c.cni.CheckNetworkList(ctx, conf, c.rt(fmt.Sprintf("net%d", i), uid)) }); err != nil {
			t.Fatalf("CHECK net%d: %v", i, err)
		}
	}
	for range 2 {
		for i := 1; i <= 8; i++ {
			conf := c.conflist(t, i, fmt.Sprintf("gpu%d-net1%d", i, i))
			if err := c.inNode(func() error { return c.cni.DelNetworkList(ctx, conf, c.rt(fmt.Sprintf("net%d", i), uid)) }); err != nil {
				t.Fatalf("DEL net%d: %v", i, err)
			}
		}
	}
	if got := c.node.Links(t); !slices.Equal(got, linksBefore) {
		t.Fatalf("links after DEL %q, want %q", got, linksBefore)
	}
	if got := c.node.Rules(t); !slices.Equal(got, rulesBefore) {
		t.Fatalf("rules after DEL %q", got)
	}
	for i := 1; i <= 8; i++ {
		if got := c.node.Routes(t, 99+i); len(got) != 0 {
			t.Fatalf("table %d after DEL: %q", 99+i, got)
		}
		if got := allocations(ctx, t, fmt.Sprintf("gpu%d-net1%d", i, i)); len(got) != 0 {
			t.Fatalf("pool gpu%d-net1%d still allocates %v after DEL", i, i, got)
		}
	}
}

// A gateway that does not answer, or an address another host holds, fails
// ADD with the interface, address and gateway named, and the address is
// back in the pool before the runtime's DEL.
func TestChainChecksReleaseTheAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c := newChain(ctx, t, "chain-node-2")
	createPool(ctx, t, "rail1-no-gateway", "172.16.11.0/24", []string{"172.16.11.30"}, "172.16.11.253")
	createPool(ctx, t, "rail2-conflict", "172.16.12.0/24", []string{"172.16.12.40"}, "172.16.12.254")
	c.node.GatewayAddr(t, 2, netip.MustParsePrefix("172.16.12.40/24"))
	for _, tc := range []struct {
		rail int
		pool string
		err  string
	}{
		{1, "rail1-no-gateway", "railnet-coordinator: net1: gateway 172.16.11.253 did not answer ARP from 172.16.11.30 within 500ms; the address was released"},
		{2, "rail2-conflict", "railnet-coordinator: net2: address 172.16.12.40 (gateway 172.16.12.254) is already used by " + c.node.PeerMAC(t, 2).String()},
	} {
		t.Run(tc.pool, func(t *testing.T) {
			conf := c.conflist(t, tc.rail, tc.pool)
			rt := c.rt(fmt.Sprintf("net%d", tc.rail), "uid-"+tc.pool)
			err := c.inNode(func() error { _, err := c.cni.AddNetworkList(ctx, conf, rt); return err })
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("ADD error %v, want %q", err, tc.err)
			}
			if got := allocations(ctx, t, tc.pool); len(got) != 0 {
				t.Fatalf("the failed ADD left %v allocated in %s", got, tc.pool)
			}
			// The runtime's DEL after the failed ADD removes the interface.
			if err := c.inNode(func() error { return c.cni.DelNetworkList(ctx, conf, rt) }); err != nil {
				t.Fatalf("DEL after the failed ADD: %v", err)
			}
			if got := c.node.Links(t); slices.Contains(got, rt.IfName) {
				t.Fatalf("links after DEL: %q", got)
			}
		})
	}
}
