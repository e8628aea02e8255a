package story

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/extender/schedconfig"
	"github.com/railnet/railnet/test/draground"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
	"github.com/railnet/railnet/test/realnode"
	"github.com/railnet/railnet/test/simnode"
	"github.com/railnet/railnet/webhook/registration"
)

// Namespace holds railnet's own objects (the webhook's ConfigMap, Leases).
const Namespace = "railnet-system"

// Options shape a story.
type Options struct {
	Nodes int
	// Coordinator chains railnet-coordinator after macvlan + railnet-ipam.
	Coordinator bool
	// Log receives progress lines; nil discards.
	Log io.Writer
	// ComponentLog receives the components' output; nil means Log.
	ComponentLog io.Writer
	// DRA adds DRA mode beside device-plugin mode (test/draground): each
	// agent also runs the rails driver, each node the test GPU driver,
	// railnet-dra-cni is in the nodes' /opt/cni/bin, the webhook runs with
	// --dra, and the rails and gpu.nvidia.com DeviceClasses exist.
	DRA bool
}

// Env is a running story.
type Env struct {
	Cluster *ground.Cluster
	Fabric  *simnode.Fabric
	Network *realnode.Network
	Nodes   []*Node
	// Resources are the 8 RDMA resources, rail order.
	Resources []string
	// ExtenderURL is where the scheduler reaches the extender.
	ExtenderURL string
	dir         string
	bin         string
	log, clog   io.Writer
	// kubeconfigs by component impersonate the chart's ServiceAccounts.
	kubeconfigs map[string]string
	nodeBins    realnode.Binaries
	dra         bool
}

// AgentGCGrace is how old an address of a gone pod must be before a node's
// agent collects it (its collector passes at start and every minute).
const AgentGCGrace = 20 * time.Second

// Node is one AI node: a real kubelet and containerd (Real) in a network
// namespace whose rail NICs are cabled to the fabric's rail switches.
type Node struct {
	*simnode.Node
	Real *realnode.Node
	// SysfsRoot is the node's own copy of the fixture sysfs tree, which
	// its agent reads (RoCEKernel writes its GID tables).
	SysfsRoot string
}

// ResourceName of rail i (0-based), as the seed's device plugin config
// names them.
func ResourceName(i int) string { return fmt.Sprintf("spidernet.io/shared_cx5_gpu%d", i+1) }

// Up brings the story up; everything stops when tb's test ends.
func Up(tb ground.TB, opts Options) *Env {
	tb.Helper()
	ctx := tb.Context()
	e := &Env{log: opts.Log, clog: opts.ComponentLog, dra: opts.DRA}
	if e.log == nil {
		e.log = io.Discard
	}
	if e.clog == nil {
		e.clog = e.log
	}
	for i := range 8 {
		e.Resources = append(e.Resources, ResourceName(i))
	}
	dir, err := os.MkdirTemp("", "railnet-story-")
	if err != nil {
		tb.Fatal(err)
	}
	e.dir = dir
	tb.Cleanup(func() { os.RemoveAll(dir) })

	e.logf("building railnet's binaries, Multus, the reference CNI plugins, the kubelet and the node images")
	bin := filepath.Join(dir, "bin")
	e.bin = bin
	cmds := []string{"./nodeagent/cmd/railnet-agent", "./nodeagent/cmd/railnet-ipam"}
	if opts.Coordinator {
		cmds = append(cmds, "./nodeagent/cmd/railnet-coordinator")
	}
	if opts.DRA {
		cmds = append(cmds, draground.Commands...)
	}
	must(tb, ground.BuildCommands(ctx, bin, cmds...))
	must(tb, buildAs(ctx, bin, "railnet-webhook", "./webhook"))
	must(tb, buildAs(ctx, bin, "railnet-extender", "./extender"))
	for _, tool := range []ground.GoTool{ground.CNIPluginsTool(), ground.MultusTool()} {
		src, err := ground.BuildGoTool(ctx, tool)
		must(tb, err)
		for name := range tool.Binaries {
			must(tb, os.Symlink(filepath.Join(src, name), filepath.Join(bin, name)))
		}
	}
	e.nodeBins, err = realnode.Build(ctx, filepath.Join(dir, "node"))
	must(tb, err)

	ports := freePorts(tb, 2)
	extenderAddr := "127.0.0.1:" + strconv.Itoa(ports[0])
	e.ExtenderURL = "http://" + extenderAddr
	webhookAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	pct := schedconfig.PercentageOfNodesToScore
	e.logf("starting etcd, kube-apiserver, kube-scheduler (with railnet's extender) and kube-controller-manager")
	e.Cluster = ground.Start(tb, ground.Options{
		Extenders: []schedconfigv1.Extender{schedconfig.Extender(schedconfig.Options{
			URLPrefix: "http://" + extenderAddr, Resources: e.Resources,
		})},
		PercentageOfNodesToScore: &pct,
		RealNodes:                true,
	})
	c := e.Cluster
	c.EnsureNamespace(tb, Namespace)
	e.logf("installing the chart's ServiceAccounts and RBAC; each component runs as its ServiceAccount")
	e.kubeconfigs = installChartRBAC(tb, c, dir, opts.DRA)

	// The webhook's configuration, which the extender follows too.
	must(tb, c.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: "railnet-config"},
		Data:       map[string]string{"conf.yaml": "podResourceInject:\n  enabled: true\n"},
	}))
	e.logf("starting railnet-extender on %s", extenderAddr)
	e.start(tb, "extender", filepath.Join(bin, "railnet-extender"), "--kubeconfig="+e.kubeconfigs["extender"],
		"--http-address="+extenderAddr, "--namespace="+Namespace, "--inject-configmap=railnet-config")

	e.logf("starting railnet-webhook on %s (self-managed CA, caBundle injected) and registering it", webhookAddr)
	// Registered with an empty caBundle, as a chart applies it: the webhook's
	// certificate reconciler fills it from the CA it keeps in a Secret.
	reg := registration.Options{Name: "railnet-webhook", URL: "https://" + webhookAddr}
	must(tb, c.Client.Create(ctx, registration.Mutating(reg)))
	must(tb, c.Client.Create(ctx, registration.Validating(reg)))
	webhookArgs := []string{"--kubeconfig=" + e.kubeconfigs["webhook"],
		"--listen=" + webhookAddr, "--namespace=" + Namespace, "--config-map=railnet-config",
		"--ca-secret=railnet-ca", "--extra-sans=127.0.0.1", "--webhook-configuration=railnet-webhook"}
	if opts.DRA {
		webhookArgs = append(webhookArgs, "--dra")
	}
	e.start(tb, "webhook", filepath.Join(bin, "railnet-webhook"), webhookArgs...)
	waitWebhook(tb, c)

	e.logf("building the rail fabric: 8 rail switches, %d nodes × 8 rail NICs, and the nodes' network", opts.Nodes)
	e.Fabric = simnode.NewFabric(tb, simnode.SeedRails())
	e.Network = realnode.NewNetwork(tb)
	dpConfig := filepath.Join(dir, "device-plugin.json")
	must(tb, os.WriteFile(dpConfig, SeedDevicePluginConfig(), 0o600))
	fixture, err := FixtureRoot(ctx)
	must(tb, err)
	for i := range opts.Nodes {
		e.addNode(tb, fmt.Sprintf("worker%d", i+1), dpConfig, fixture)
	}
	if opts.DRA {
		e.logf("DRA mode: the rails DeviceClass (the chart's) and gpu.nvidia.com (the test GPU driver's)")
		draground.ApplyDeviceClasses(ctx, tb, c)
	}
	return e
}

// addNode starts a real node on a new rail-cabled network namespace: its
// CNI is what an operator installs (Multus as the primary conflist with a
// ptp cluster network for eth0; macvlan, railnet-ipam and
// railnet-coordinator in /opt/cni/bin), its /dev/infiniband holds device
// nodes for the fixture's RDMA devices, and railnet's agent runs on it as a
// host-network daemon would.
func (e *Env) addNode(tb ground.TB, name, dpConfig, fixture string) {
	tb.Helper()
	c := e.Cluster
	sn := e.Fabric.AddNode(tb, name)
	devices, err := realnode.InfinibandDevices(filepath.Join(fixture, "dev", "infiniband"))
	must(tb, err)
	cniBin := map[string]string{}
	entries, err := os.ReadDir(e.bin)
	must(tb, err)
	notCNI := map[string]bool{"railnet-agent": true, "railnet-webhook": true, "railnet-extender": true, draground.GPUDriverBinary: true}
	for _, ent := range entries {
		if !notCNI[ent.Name()] {
			cniBin[ent.Name()] = filepath.Join(e.bin, ent.Name())
		}
	}
	multusKubeconfig := filepath.Join(e.dir, name+"-multus.kubeconfig")
	must(tb, c.WriteKubeconfig(multusKubeconfig, e.apiServerFromNodes(), c.AdminAuth()))
	kc, err := os.ReadFile(multusKubeconfig)
	must(tb, err)
	cniConf := func(n *realnode.Node) map[string][]byte {
		return map[string][]byte{
			"00-multus.conflist":         MultusConf(n.PodCIDR),
			"multus.d/multus.kubeconfig": kc,
		}
	}
	e.logf("%s: starting containerd and the kubelet (Multus → macvlan → railnet-ipam → railnet-coordinator as its CNI)", name)
	rn := realnode.Start(tb, c, e.Network, e.nodeBins, realnode.Spec{
		Name: name, Netns: sn.Netns, Devices: devices, CNIBin: cniBin,
		CNIConf: cniConf,
	})
	agentKubeconfig := filepath.Join(rn.Dir, "railnet-agent.kubeconfig")
	must(tb, ground.RewriteKubeconfig(e.kubeconfigs["node-agent"], agentKubeconfig, rn.APIServer))
	sysfs := filepath.Join(e.dir, name+"-sysfs")
	must(tb, copyTree(fixture, sysfs))
	args := []string{"--kubeconfig=" + agentKubeconfig,
		"--node-name=" + name, "--sysfs-root=" + sysfs, "--device-plugin-config=" + dpConfig,
		"--ipam-lease-namespace=" + Namespace, "--discovery-interval=1s", "--rdma-netns-mode=shared",
		"--ipam-gc-grace=" + AgentGCGrace.String()}
	if e.dra {
		draground.OnNode(tb, agentKubeconfig, name)
		args = append(args, "--dra")
		e.logf("%s: starting railnet-agent on the node (fixture RDMA sysfs, shared device plugin, rails DRA driver, IPAM) and the test GPU DRA driver", name)
	} else {
		e.logf("%s: starting railnet-agent on the node (fixture RDMA sysfs, shared device plugin, IPAM)", name)
	}
	must(tb, rn.Run("railnet-agent", filepath.Join(e.bin, "railnet-agent"), args...))
	if e.dra {
		draground.StartGPUDriver(tb, c, rn, e.bin, sysfs)
	}
	e.Nodes = append(e.Nodes, &Node{Node: sn, Real: rn, SysfsRoot: sysfs})
}

// apiServerFromNodes is the API server's URL as the nodes reach it.
func (e *Env) apiServerFromNodes() string {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.Cluster.APIServerURL, "https://"))
	return "https://" + net.JoinHostPort(e.Network.Gateway.String(), port)
}

// RestartAgent stops the node's railnet-agent and starts it again with the
// same flags.
func (n *Node) RestartAgent() error { return n.Real.Restart("railnet-agent") }

// start runs a component until the test ends; its output goes to the log.
func (e *Env) start(tb ground.TB, name, bin string, args ...string) {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = prefixWriter(e.clog, name), prefixWriter(e.clog, name)
	cmd.SysProcAttr = sysProcAttr()
	ground.StartCommand(tb, cmd, 10*time.Second)
}

func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "story: "+format+"\n", args...)
}

func buildAs(ctx context.Context, dir, name, pkg string) error {
	return ground.Build(ctx, filepath.Join(dir, name), pkg)
}

// waitWebhook polls with server-side dry-run creates until the API server
// calls the webhook (a new registration takes a moment to take effect).
func waitWebhook(tb ground.TB, c *ground.Cluster) {
	tb.Helper()
	poll.Until(tb, 60*time.Second, "the API server calling the webhook", func() error {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, GenerateName: "probe-",
				Annotations: map[string]string{"cni.spidernet.io/rdma-resource-inject": "railnet-story-probe"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
		}
		err := c.Client.Create(tb.Context(), pod, client.DryRunAll)
		// The webhook refuses a group nobody carries; that refusal proves
		// it is called.
		if err != nil && containsAll(err.Error(), "railnet-story-probe", "no SpiderMultusConfig") {
			return nil
		}
		return fmt.Errorf("last answer %v", err)
	})
}

func SeedDevicePluginConfig() []byte {
	type sel struct {
		IfNames []string `json:"ifNames"`
	}
	type entry struct {
		ResourcePrefix string `json:"resourcePrefix"`
		ResourceName   string `json:"resourceName"`
		RdmaHcaMax     int    `json:"rdmaHcaMax"`
		Selectors      sel    `json:"selectors"`
	}
	cfg := struct {
		PeriodicUpdateInterval int     `json:"periodicUpdateInterval"`
		ConfigList             []entry `json:"configList"`
	}{PeriodicUpdateInterval: 300}
	for i, r := range simnode.SeedRails() {
		cfg.ConfigList = append(cfg.ConfigList, entry{ResourcePrefix: "spidernet.io",
			ResourceName: fmt.Sprintf("shared_cx5_gpu%d", i+1), RdmaHcaMax: 100, Selectors: sel{IfNames: []string{r.Master}}})
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return b
}

// MultusConf is the node's primary CNI config: the Multus thin plugin with
// a ptp + host-local cluster network on the node's pod subnet for eth0,
// paths as on any node.
func MultusConf(podCIDR netip.Prefix) []byte {
	conf := map[string]any{
		"cniVersion": "1.0.0", "name": "multus-cni-network",
		"plugins": []any{map[string]any{
			"type": "multus", "cniVersion": "1.0.0", "kubeconfig": realnode.CNIConfDir + "/multus.d/multus.kubeconfig",
			"binDir": realnode.CNIBinDir, "cniDir": "/var/lib/cni/multus", "confDir": realnode.CNIConfDir,
			"logToStderr": true, "logLevel": "error",
			"delegates": []any{map[string]any{
				"cniVersion": "1.0.0", "name": "cluster",
				"plugins": []any{map[string]any{"type": "ptp", "ipam": map[string]any{
					"type": "host-local", "subnet": podCIDR.String(),
					"routes": []any{map[string]any{"dst": "0.0.0.0/0"}},
				}}},
			}},
		}},
	}
	b, _ := json.Marshal(conf)
	return b
}

// FixtureRoot is the 8-GPU / 8-ConnectX node's fixture sysfs tree.
func FixtureRoot(ctx context.Context) (string, error) {
	root, err := ground.ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "nodeagent", "testdata", "sysfs", "rail8"), nil
}

func freePorts(tb ground.TB, n int) []int {
	tb.Helper()
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(tb, err)
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func must(tb ground.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
