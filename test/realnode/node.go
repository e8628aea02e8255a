package realnode

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	corev1 "k8s.io/api/core/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// Spec describes one real node.
type Spec struct {
	Name string
	// Netns is the node's network namespace, e.g. a simnode.Node's with its
	// rail NICs; nil makes an empty one. It gets an uplink "eth0".
	Netns ns.NetNS
	// Labels are registered by the kubelet (--node-labels).
	Labels map[string]string
	// Images are image tarballs imported into the node's containerd besides
	// the pause and busybox images.
	Images []string
	// CNIBin are files copied into the node's /opt/cni/bin (name → host
	// file); CNIConf returns the files written into its /etc/cni/net.d, for
	// the node (its pod subnet, the API server's address as it reaches it).
	CNIBin  map[string]string
	CNIConf func(*Node) map[string][]byte
	// KubeProxy runs kube-proxy (iptables mode) on the node, so its pods
	// and host-network pods reach Services, the API server's included.
	KubeProxy bool
	// Devices are character devices made in the node (path → "MAJOR:MINOR"),
	// e.g. /dev/infiniband/uverbs0 = "231:192".
	Devices map[string]string
}

// Binaries are what a node runs; Build finds or builds them.
type Binaries struct {
	Kubelet, KubeProxy, Scheduler, NodeInit string
	// BaseImages are the pause and busybox image tarballs.
	BaseImages []string
}

// Build returns the kubelet (built with the control plane), nodeinit and the
// base images, built into dir.
func Build(ctx context.Context, dir string) (Binaries, error) {
	for _, tool := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return Binaries{}, fmt.Errorf("%s not found: real nodes need Debian's containerd, runc and busybox-static (apt-get install containerd runc busybox-static): %w", tool, err)
		}
	}
	cp, err := ground.BuildControlPlane(ctx)
	if err != nil {
		return Binaries{}, err
	}
	if err := ground.BuildCommands(ctx, dir, "./test/realnode/nodeinit"); err != nil {
		return Binaries{}, err
	}
	images, err := BaseImages(ctx, filepath.Join(dir, "images"))
	if err != nil {
		return Binaries{}, err
	}
	return Binaries{Kubelet: cp.Kubelet, KubeProxy: cp.KubeProxy, Scheduler: cp.Scheduler, NodeInit: filepath.Join(dir, "nodeinit"), BaseImages: images}, nil
}

// Node is a running real node.
type Node struct {
	Name string
	// IP is the node's InternalIP on the nodes' network.
	IP netip.Addr
	// PodCIDR is the node's pod subnet (routed to it from the host).
	PodCIDR netip.Prefix
	// Dir is the host folder behind the node's private folders, configs and
	// logs (<name>.log per process).
	Dir   string
	Netns ns.NetNS
	// APIServer is the API server's URL as the node reaches it.
	APIServer string

	cluster    *ground.Cluster
	bins       Binaries
	cgroupRoot string
	init       *exec.Cmd
	initDone   chan struct{}

	kubeletArgs []string

	mu    sync.Mutex
	procs map[string]*nodeProc
}

// private folders of the node: path inside → folder under Dir.
var privateDirs = map[string]string{
	KubeletRoot:           "kubelet",
	"/var/lib/containerd": "containerd",
	CNIBinDir:             "cni-bin",
	CNIConfDir:            "cni-net.d",
	"/var/log":            "log",
}

// Start brings a node up — nodeinit, containerd, images, kubelet — and
// waits until the API server reports it Ready and schedulable. The node is
// torn down when the test ends.
func Start(tb ground.TB, c *ground.Cluster, network *Network, bins Binaries, spec Spec) *Node {
	tb.Helper()
	ctx := tb.Context()
	reapStaleCgroups()
	dir, err := os.MkdirTemp("", "railnet-node-"+spec.Name+"-")
	if err != nil {
		tb.Fatal(err)
	}
	n := &Node{Name: spec.Name, Dir: dir, Netns: spec.Netns, cluster: c, bins: bins,
		cgroupRoot: cgroupRootName(spec.Name), procs: map[string]*nodeProc{}}
	tb.Cleanup(func() {
		// A failed test shows what its nodes said last.
		if t, ok := tb.(interface {
			Failed() bool
			Logf(string, ...any)
		}); ok && t.Failed() {
			for _, name := range n.processNames() {
				t.Logf("node %s, %s log ends:\n%s", n.Name, name, n.Logs(name, 40))
			}
		}
		if err := n.teardown(); err != nil {
			tb.Errorf("node %s: %v", n.Name, err)
		}
	})
	if n.Netns == nil {
		nodeNS, err := testutils.NewNS()
		if err != nil {
			tb.Fatalf("network namespace for node %s: %v", spec.Name, err)
		}
		tb.Cleanup(func() { _ = nodeNS.Close(); _ = testutils.UnmountNS(nodeNS) })
		n.Netns = nodeNS
	}
	if n.IP, n.PodCIDR, err = network.Attach(n.Netns); err != nil {
		tb.Fatalf("node %s: %v", spec.Name, err)
	}
	u, err := url.Parse(c.APIServerURL)
	if err != nil {
		tb.Fatal(err)
	}
	n.APIServer = "https://" + netip.AddrPortFrom(network.Gateway, mustPort(tb, u.Port())).String()

	must(tb, n.prepareDirs(spec))
	must(tb, makeCgroupRoot(n.cgroupRoot))
	must(tb, n.startInit(spec))
	must(tb, n.StartContainerd(ctx))
	for _, img := range append(append([]string(nil), bins.BaseImages...), spec.Images...) {
		must(tb, n.ImportImage(ctx, img))
	}
	must(tb, n.writeKubeletFiles(spec))
	must(tb, n.StartKubelet())
	n.WaitReady(ctx, tb)
	if spec.KubeProxy {
		must(tb, n.startKubeProxy(network.Pods))
	}
	return n
}

func (n *Node) prepareDirs(spec Spec) error {
	for _, sub := range privateDirs {
		if err := os.MkdirAll(filepath.Join(n.Dir, sub), 0o755); err != nil {
			return err
		}
	}
	for name, src := range spec.CNIBin {
		if err := copyFile(src, filepath.Join(n.Dir, privateDirs[CNIBinDir], name), 0o755); err != nil {
			return err
		}
	}
	var conf map[string][]byte
	if spec.CNIConf != nil {
		conf = spec.CNIConf(n)
	}
	for name, data := range conf {
		path := filepath.Join(n.Dir, privateDirs[CNIConfDir], name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(n.Dir, "containerd.toml"), []byte(containerdConfig("/var/lib/containerd")), 0o644)
}

// startInit starts the node's process 1 in new mount and PID namespaces.
func (n *Node) startInit(spec Spec) error {
	ready := filepath.Join(n.Dir, "init.ready")
	args := []string{"--ready=" + ready, "--tmpfs=/run", "--tmpfs=/dev/infiniband"}
	for _, inside := range sortedKeys(privateDirs) {
		args = append(args, "--bind="+inside+"="+filepath.Join(n.Dir, privateDirs[inside]))
	}
	for _, path := range sortedKeys(spec.Devices) {
		args = append(args, "--chardev="+path+"="+spec.Devices[path])
	}
	logf, err := os.Create(filepath.Join(n.Dir, "nodeinit.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(n.bins.NodeInit, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL, // the node dies with the test process
	}
	if err := ground.Spawn(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("start nodeinit of %s: %w", n.Name, err)
	}
	n.init, n.initDone = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(n.initDone) }()
	return poll.Wait(context.Background(), 10*time.Second, "nodeinit of "+n.Name+" ready", func() error {
		select {
		case <-n.initDone:
			b, _ := os.ReadFile(filepath.Join(n.Dir, "nodeinit.log"))
			return poll.Final(fmt.Errorf("nodeinit exited: %s", b))
		default:
		}
		_, err := os.Stat(ready)
		return err
	})
}

// nsenterArgs enter the node: its mount and PID namespaces (nodeinit's) and
// its network namespace.
func (n *Node) nsenterArgs(bin string, args ...string) []string {
	return append([]string{"--target", strconv.Itoa(n.init.Process.Pid), "--mount", "--pid",
		"--net=" + n.Netns.Path(), "--wd=/", "--", bin}, args...)
}

// Command returns a command that runs inside the node, for short-lived
// tools (ctr, ip); long-running ones go through Run.
func (n *Node) Command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", n.nsenterArgs(bin, args...)...)
}

// HostPath is the host's path of a path inside the node's mount namespace.
func (n *Node) HostPath(path string) string {
	return filepath.Join("/proc", strconv.Itoa(n.init.Process.Pid), "root", path)
}

// nodeProc is a long-running process inside the node.
type nodeProc struct {
	started time.Time
	bin     string
	args    []string
	nsenter *exec.Cmd
	done    chan struct{}
}

// Run starts a long-running process inside the node (its output appended to
// Dir/name.log); it runs until Kill or the node's end.
func (n *Node) Run(name, bin string, args ...string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.procs[name]; ok && !p.exited() {
		return fmt.Errorf("node %s: %s is already running", n.Name, name)
	}
	logf, err := os.OpenFile(n.LogPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("nsenter", n.nsenterArgs(bin, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := ground.Spawn(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("node %s: start %s: %w", n.Name, name, err)
	}
	p := &nodeProc{started: time.Now(), bin: bin, args: args, nsenter: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	n.procs[name] = p
	return nil
}

// Restart stops a process started by Run (SIGTERM, SIGKILL after 10 s) and
// starts it again with the same command line.
func (n *Node) Restart(name string) error {
	n.mu.Lock()
	p, ok := n.procs[name]
	n.mu.Unlock()
	if !ok {
		return fmt.Errorf("node %s: no process %s", n.Name, name)
	}
	if err := n.Kill(name, syscall.SIGTERM, 10*time.Second); err != nil {
		return err
	}
	return n.Run(name, p.bin, p.args...)
}

func (n *Node) processNames() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return sortedKeys(n.procs)
}

// LogPath is where a process's output goes.
func (n *Node) LogPath(name string) string { return filepath.Join(n.Dir, name+".log") }

// Logs returns the last lines of a process's log.
func (n *Node) Logs(name string, lines int) string {
	b, err := os.ReadFile(n.LogPath(name))
	if err != nil {
		return err.Error()
	}
	parts := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func (p *nodeProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill sends sig to a process started by Run (to the process itself, which
// nsenter forked inside the node) and waits up to grace for it to end, then
// kills it.
func (n *Node) Kill(name string, sig syscall.Signal, grace time.Duration) error {
	n.mu.Lock()
	p, ok := n.procs[name]
	n.mu.Unlock()
	if !ok || p.exited() {
		return nil
	}
	child := childOf(p.nsenter.Process.Pid)
	if child == 0 {
		_ = p.nsenter.Process.Kill()
		<-p.done
		return nil
	}
	_ = syscall.Kill(child, sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(child, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("node %s: %s (pid %d) did not end", n.Name, name, child)
	}
}

// Running reports whether a process started by Run is alive.
func (n *Node) Running(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.procs[name]
	return ok && !p.exited()
}

// childOf finds nsenter's one child (the process it started in the node's
// PID namespace) by scanning /proc.
func childOf(ppid int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// fields after "comm)": state ppid ...
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

// StartContainerd starts the node's containerd and waits until it answers.
func (n *Node) StartContainerd(ctx context.Context) error {
	if err := n.Run("containerd", "containerd", "--config="+filepath.Join(n.Dir, "containerd.toml")); err != nil {
		return err
	}
	err := poll.Wait(ctx, 30*time.Second, "containerd of node "+n.Name+" answering", func() error {
		out, err := n.Command(ctx, "ctr", "--address", ContainerdSocket, "version").CombinedOutput()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("%v %s", err, out)
		if !n.Running("containerd") {
			return poll.Final(err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, n.Logs("containerd", 20))
	}
	return nil
}

// ImportImage imports an image tarball into the node's containerd, in the
// namespace the CRI uses.
func (n *Node) ImportImage(ctx context.Context, tarball string) error {
	out, err := n.Command(ctx, "ctr", "--address", ContainerdSocket, "--namespace", "k8s.io",
		"images", "import", tarball).CombinedOutput()
	if err != nil {
		return fmt.Errorf("node %s: import %s: %w\n%s", n.Name, tarball, err, out)
	}
	return nil
}

func (n *Node) writeKubeletFiles(spec Spec) error {
	pki := filepath.Join(n.Dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}
	ca := n.cluster.CA
	clientCrt, clientKey, err := ca.IssueFor(pkix.Name{CommonName: "system:node:" + n.Name,
		Organization: []string{"system:nodes"}}, nil)
	if err != nil {
		return err
	}
	servingCrt, servingKey, err := ca.IssueFor(pkix.Name{CommonName: n.Name}, []string{n.IP.String(), n.Name})
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.crt": ca.CertPEM, "client.crt": clientCrt, "client.key": clientKey,
		"kubelet.crt": servingCrt, "kubelet.key": servingKey,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o600); err != nil {
			return err
		}
	}
	err = n.cluster.WriteKubeconfig(filepath.Join(n.Dir, "kubelet.kubeconfig"), n.APIServer, clientcmdapi.AuthInfo{
		ClientCertificate: filepath.Join(pki, "client.crt"), ClientKey: filepath.Join(pki, "client.key")})
	if err != nil {
		return err
	}
	cfg, err := kubeletConfig(n.IP, n.cgroupRoot, filepath.Join(pki, "ca.crt"),
		filepath.Join(pki, "kubelet.crt"), filepath.Join(pki, "kubelet.key"))
	if err != nil {
		return err
	}
	var labels []string
	for _, k := range sortedKeys(spec.Labels) {
		labels = append(labels, k+"="+spec.Labels[k])
	}
	n.kubeletArgs = []string{
		"--config=" + filepath.Join(n.Dir, "kubelet.yaml"),
		"--kubeconfig=" + filepath.Join(n.Dir, "kubelet.kubeconfig"),
		"--hostname-override=" + n.Name, "--node-ip=" + n.IP.String(),
		"--root-dir=" + KubeletRoot, "--cert-dir=" + pki,
	}
	if len(labels) > 0 {
		n.kubeletArgs = append(n.kubeletArgs, "--node-labels="+strings.Join(labels, ","))
	}
	return os.WriteFile(filepath.Join(n.Dir, "kubelet.yaml"), cfg, 0o644)
}

// startKubeProxy runs kube-proxy in iptables mode as system:kube-proxy
// (bound to system:node-proxier by Kubernetes' bootstrap RBAC).
func (n *Node) startKubeProxy(clusterCIDR netip.Prefix) error {
	if _, err := exec.LookPath("iptables"); err != nil {
		return fmt.Errorf("kube-proxy needs iptables (apt-get install iptables): %w", err)
	}
	pki := filepath.Join(n.Dir, "pki")
	crt, key, err := n.cluster.CA.IssueFor(pkix.Name{CommonName: "system:kube-proxy"}, nil)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pki, "kube-proxy.crt"), crt, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pki, "kube-proxy.key"), key, 0o600); err != nil {
		return err
	}
	kc := filepath.Join(n.Dir, "kube-proxy.kubeconfig")
	if err := n.cluster.WriteKubeconfig(kc, n.APIServer, clientcmdapi.AuthInfo{
		ClientCertificate: filepath.Join(pki, "kube-proxy.crt"), ClientKey: filepath.Join(pki, "kube-proxy.key")}); err != nil {
		return err
	}
	// conntrack.maxPerCore 0 leaves the host's conntrack table alone.
	cfg := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %s
hostnameOverride: %s
mode: iptables
clusterCIDR: %s
conntrack:
  maxPerCore: 0
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
`, kc, n.Name, clusterCIDR)
	path := filepath.Join(n.Dir, "kube-proxy.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	return n.Run("kube-proxy", n.bins.KubeProxy, "--config="+path)
}

// StartKubelet starts the node's kubelet (again, after StopKubelet).
func (n *Node) StartKubelet() error { return n.Run("kubelet", n.bins.Kubelet, n.kubeletArgs...) }

// StopKubelet stops the kubelet; the node's containers keep running.
func (n *Node) StopKubelet() error { return n.Kill("kubelet", syscall.SIGTERM, 10*time.Second) }

// StopContainerd stops containerd; the containers keep running under their
// shims, as with `systemctl stop containerd` (KillMode=process).
func (n *Node) StopContainerd() error { return n.Kill("containerd", syscall.SIGTERM, 10*time.Second) }

// WaitReady waits until the running kubelet serves on its port and has
// reported the Node Ready since it started, and the Node carries no
// not-ready taint (the node lifecycle controller lifts it).
func (n *Node) WaitReady(ctx context.Context, tb ground.TB) {
	tb.Helper()
	n.mu.Lock()
	var since time.Time
	if p, ok := n.procs["kubelet"]; ok {
		since = p.started.Truncate(time.Second)
	}
	n.mu.Unlock()
	err := poll.Wait(ctx, 2*time.Minute, "node "+n.Name+" Ready", func() error {
		if ok, state := n.readySince(ctx, since); !ok {
			if !n.Running("kubelet") {
				return poll.Final(errors.New("kubelet exited"))
			}
			return errors.New(state)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("%v; kubelet log ends:\n%s", err, n.Logs("kubelet", 40))
	}
}

func (n *Node) readySince(ctx context.Context, since time.Time) (bool, string) {
	conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", netip.AddrPortFrom(n.IP, 10250).String())
	if err != nil {
		return false, "kubelet port: " + err.Error()
	}
	conn.Close()
	node := &corev1.Node{}
	if err := n.cluster.Client.Get(ctx, client.ObjectKey{Name: n.Name}, node); err != nil {
		return false, err.Error()
	}
	state := "no Ready condition"
	ready := false
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			ready = cond.Status == corev1.ConditionTrue && !cond.LastHeartbeatTime.Time.Before(since)
			state = fmt.Sprintf("Ready=%s since %s (%s: %s)", cond.Status, cond.LastHeartbeatTime, cond.Reason, cond.Message)
		}
	}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			ready = false
			state += "; taint " + t.Key
		}
	}
	return ready, state
}

// teardown kills the node (nodeinit's end kills every process of its PID
// namespace and drops its mounts), deletes its Node object, removes its
// cgroups and its folder.
func (n *Node) teardown() error {
	var errs []string
	if n.init != nil {
		_ = n.init.Process.Kill()
		<-n.initDone
		n.mu.Lock()
		procs := n.procs
		n.mu.Unlock()
		for _, p := range procs {
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				errs = append(errs, "an nsenter outlived its node")
			}
		}
	}
	if n.cluster != nil && n.cluster.Client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// Best effort: the control plane may be gone already.
		node := &corev1.Node{}
		node.Name = n.Name
		_ = client.IgnoreNotFound(n.cluster.Client.Delete(ctx, node))
		cancel()
	}
	if err := removeCgroupRoot(n.cgroupRoot, 20*time.Second); err != nil {
		errs = append(errs, err.Error())
	}
	if os.Getenv("RAILNET_KEEP_GROUND") == "" {
		if err := os.RemoveAll(n.Dir); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("teardown: %s", strings.Join(errs, "; "))
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func mustPort(tb ground.TB, p string) uint16 {
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		tb.Fatalf("port %q: %v", p, err)
	}
	return uint16(n)
}

func must(tb ground.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
