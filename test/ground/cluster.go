package ground

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	componentbaseconfigv1alpha1 "k8s.io/component-base/config/v1alpha1"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	railnetscheme "github.com/railnet/railnet/api/scheme"
	"github.com/railnet/railnet/test/poll"
)

// Options shape one test cluster.
type Options struct {
	// Extenders are added to the scheduler's KubeSchedulerConfiguration.
	Extenders []schedconfigv1.Extender
	// PercentageOfNodesToScore sets the scheduler's field of that name.
	PercentageOfNodesToScore *int32
	// NoControllerManager leaves kube-controller-manager out.
	NoControllerManager bool
	// NoScheduler leaves the ground's kube-scheduler out: a test runs the
	// cluster's scheduler itself (e.g. on a real node, as kubeadm runs it).
	NoScheduler bool
	// RunAs lists railnet components ("webhook", "extender",
	// "node-agent") that tests run as their chart ServiceAccount: Launch
	// applies the chart's RBAC (release "railnet", namespace "railnet")
	// and Cluster.As returns a config with exactly those permissions.
	RunAs []string

	// Dir holds certificates, kubeconfigs, data and logs; a new temporary
	// folder when empty. The CLI uses a fixed folder.
	Dir string
	// RealNodes prepares the control plane for real kubelets in network
	// namespaces (test/realnode): kube-apiserver listens on every address,
	// not only loopback, and kube-controller-manager runs every controller,
	// the node lifecycle controller included (it lifts the not-ready taint
	// of a node whose kubelet reports Ready). Hand-made nodes (CreateNode)
	// would turn NotReady there: use one kind of node per cluster.
	RealNodes bool
	// AdvertiseAddress, with RealNodes, is the host address on the nodes'
	// network (realnode.Network's gateway): the apiserver keeps the
	// "kubernetes" Service's endpoints at it (lease reconciler), so pods
	// reach the API through the Service as in any cluster (kube-proxy on
	// the nodes), and it calls webhook Services at their endpoints' pod
	// addresses (--enable-aggregator-routing: the host runs no kube-proxy).
	AdvertiseAddress string

	// Detached starts the processes in their own sessions so they outlive
	// the caller (the CLI's `up`). Tests leave it false: then every process
	// dies with the test process, whatever ends it.
	Detached bool
}

// Cluster is a running control plane.
type Cluster struct {
	// Dir holds everything the cluster wrote; removed by Stop.
	Dir string
	// Kubeconfig is the admin kubeconfig file.
	Kubeconfig string
	// Config is the admin REST config (system:masters).
	Config *rest.Config
	// Client is a controller-runtime client with railnet's scheme.
	Client client.Client
	// Scheme is the client's scheme (api/scheme.New plus apiextensions).
	Scheme *runtime.Scheme
	// CA signed the apiserver's serving certificate; tests may issue more.
	CA *CA
	// APIServerURL is https://127.0.0.1:PORT.
	APIServerURL string

	opts     Options
	bins     Binaries
	runAs    map[string]string // component → impersonating kubeconfig
	procsMu  sync.Mutex
	procs    []*process
	stopOnce sync.Once
}

// State is what the CLI records to find a detached cluster again.
type State struct {
	Kubeconfig string         `json:"kubeconfig"`
	APIServer  string         `json:"apiServer"`
	PIDs       map[string]int `json:"pids"`
}

const (
	adminToken     = "railnet-admin-token"
	schedulerToken = "railnet-scheduler-token"
	kcmToken       = "railnet-controller-manager-token"
	ownerFile      = "owner.pid"
	dirPrefix      = "railnet-ground-"
)

// Launch builds (or reuses) the binaries and starts etcd, kube-apiserver,
// kube-scheduler and kube-controller-manager, then installs railnet's CRDs.
// Call Stop when done; Start and RunMain do that for tests.
func Launch(ctx context.Context, opts Options) (*Cluster, error) {
	setControllerRuntimeLogger()
	reapStale()
	bins, err := BuildControlPlane(ctx)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		c, err := launchOnce(ctx, opts, bins)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil || !isPortClash(err) {
			break
		}
		progressf("a port was taken between choosing and binding it; retrying (attempt %d)", attempt+1)
	}
	return nil, lastErr
}

func launchOnce(ctx context.Context, opts Options, bins Binaries) (_ *Cluster, retErr error) {
	start := time.Now()
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", dirPrefix)
		if err != nil {
			return nil, err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, opts: opts, bins: bins}
	if !opts.Detached {
		register(c)
	}
	defer func() {
		if retErr != nil {
			c.Stop()
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}

	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort, schedPort, kcmPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	c.APIServerURL = fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	if err := c.writePKI(); err != nil {
		return nil, err
	}
	p := func(name string) string { return filepath.Join(dir, name) }

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if err := c.run("etcd", bins.Etcd,
		"--name=ground", "--data-dir="+p("etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=ground="+peerURL,
		"--unsafe-no-fsync", "--log-level=warn",
	); err != nil {
		return nil, err
	}

	bind, advertise, serviceRouting := "127.0.0.1", []string{"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none"}, []string(nil)
	if opts.RealNodes {
		bind = "0.0.0.0"
	}
	if opts.RealNodes && opts.AdvertiseAddress != "" {
		advertise = []string{"--advertise-address=" + opts.AdvertiseAddress, "--endpoint-reconciler-type=lease"}
		serviceRouting = []string{"--enable-aggregator-routing=true"}
	}
	args := append([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=" + bind,
		"--secure-port=" + strconv.Itoa(apiPort),
	}, append(advertise, serviceRouting...)...)
	if err := c.run("kube-apiserver", bins.APIServer, append(args,
		"--cert-dir="+p("apiserver"),
		"--tls-cert-file="+p("apiserver.crt"), "--tls-private-key-file="+p("apiserver.key"),
		"--client-ca-file="+p("ca.crt"),
		"--token-auth-file="+p("tokens.csv"),
		// As real clusters: kubelets are authorized as their node only.
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--kubelet-client-certificate="+p("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+p("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority="+p("ca.crt"),
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+p("sa.key"),
		"--service-account-signing-key-file="+p("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--profiling=false",
	)...); err != nil {
		return nil, err
	}
	if err := c.writeKubeconfigs(); err != nil {
		return nil, err
	}
	if err := c.waitAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := c.newClient(); err != nil {
		return nil, err
	}
	if err := c.installCRDs(ctx); err != nil {
		return nil, err
	}
	if len(opts.RunAs) > 0 {
		if err := c.AddNamespace(ctx, ChartNamespace); err != nil {
			return nil, err
		}
		if c.runAs, err = c.ChartRBAC(ctx, dir, ChartRelease, ChartNamespace, opts.RunAs); err != nil {
			return nil, err
		}
	}

	var components []struct {
		name string
		port int
	}
	if !opts.NoScheduler {
		if err := c.writeSchedulerConfig(); err != nil {
			return nil, err
		}
		if err := c.run("kube-scheduler", bins.Scheduler,
			"--config="+p("scheduler.yaml"),
			"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(schedPort),
			"--cert-dir="+p("scheduler"),
			"--authentication-kubeconfig="+p("scheduler.kubeconfig"),
			"--authorization-kubeconfig="+p("scheduler.kubeconfig"),
		); err != nil {
			return nil, err
		}
		components = append(components, struct {
			name string
			port int
		}{"kube-scheduler", schedPort})
	}

	if !opts.NoControllerManager {
		// Hand-made nodes have no kubelet to renew their lease.
		controllers := "*,-node-lifecycle-controller"
		if opts.RealNodes {
			controllers = "*"
		}
		if err := c.run("kube-controller-manager", bins.ControllerManager,
			"--kubeconfig="+p("controller-manager.kubeconfig"),
			"--authentication-kubeconfig="+p("controller-manager.kubeconfig"),
			"--authorization-kubeconfig="+p("controller-manager.kubeconfig"),
			"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(kcmPort),
			"--cert-dir="+p("controller-manager"),
			"--leader-elect=false",
			"--controllers="+controllers,
			"--use-service-account-credentials=true",
			"--service-account-private-key-file="+p("sa.key"),
			"--root-ca-file="+p("ca.crt"),
			"--cluster-signing-cert-file="+p("ca.crt"),
			"--cluster-signing-key-file="+p("ca.key"),
		); err != nil {
			return nil, err
		}
		components = append(components, struct {
			name string
			port int
		}{"kube-controller-manager", kcmPort})
	}
	for _, comp := range components {
		if err := c.waitHealthz(ctx, comp.name, comp.port); err != nil {
			return nil, err
		}
	}
	if opts.Detached {
		if err := c.writeState(); err != nil {
			return nil, err
		}
	}
	progressf("control plane ready at %s in %s (dir %s)", c.APIServerURL, time.Since(start).Round(10*time.Millisecond), dir)
	return c, nil
}

func (c *Cluster) run(name, bin string, args ...string) error {
	proc, err := startProcess(name, bin, filepath.Join(c.Dir, name+".log"), c.opts.Detached, args...)
	if err != nil {
		return err
	}
	c.addProc(proc)
	return nil
}

func (c *Cluster) addProc(p *process) {
	c.procsMu.Lock()
	defer c.procsMu.Unlock()
	c.procs = append(c.procs, p)
}

// processes returns the processes started so far, oldest first.
func (c *Cluster) processes() []*process {
	c.procsMu.Lock()
	defer c.procsMu.Unlock()
	return append([]*process(nil), c.procs...)
}

// Stop ends every process of the cluster and removes its folder (kept when
// RAILNET_KEEP_GROUND is set, for debugging). Safe to call twice.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		// Stop in reverse start order: clients before the apiserver, etcd last.
		procs := c.processes()
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop(10 * time.Second)
		}
		unregister(c)
		if os.Getenv("RAILNET_KEEP_GROUND") == "" {
			_ = os.RemoveAll(c.Dir)
		} else {
			progressf("kept %s (RAILNET_KEEP_GROUND is set)", c.Dir)
		}
	})
}

// PIDs returns the process ids of the running components by name.
func (c *Cluster) PIDs() map[string]int {
	out := map[string]int{}
	for _, p := range c.processes() {
		out[p.name] = p.cmd.Process.Pid
	}
	return out
}

// Logs returns the last lines of a component's log, for test failure
// messages.
func (c *Cluster) Logs(component string, lines int) string {
	b, err := os.ReadFile(filepath.Join(c.Dir, component+".log"))
	if err != nil {
		return err.Error()
	}
	return tail(string(b), lines)
}

func (c *Cluster) writePKI() error {
	ca, err := NewCA("railnet-ground-ca")
	if err != nil {
		return err
	}
	c.CA = ca
	crt, key, err := ca.Issue("kube-apiserver", []string{
		"127.0.0.1", "localhost", "10.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
	})
	if err != nil {
		return err
	}
	// The apiserver's client certificate towards kubelets (logs, exec):
	// system:masters, so the kubelets' webhook authorization lets it in.
	kcCrt, kcKey, err := ca.IssueFor(pkix.Name{CommonName: "kube-apiserver-kubelet-client",
		Organization: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	caKey, err := marshalKey(ca)
	if err != nil {
		return err
	}
	saKey, err := newSigningKey()
	if err != nil {
		return err
	}
	tokens := strings.Join([]string{
		adminToken + `,railnet-admin,railnet-admin,"system:masters"`,
		schedulerToken + `,system:kube-scheduler,system:kube-scheduler`,
		kcmToken + `,system:kube-controller-manager,system:kube-controller-manager`,
	}, "\n") + "\n"
	p := func(name string) string { return filepath.Join(c.Dir, name) }
	return writeFiles(map[string][]byte{
		p("ca.crt"): ca.CertPEM, p("ca.key"): caKey,
		p("apiserver.crt"): crt, p("apiserver.key"): key,
		p("apiserver-kubelet-client.crt"): kcCrt, p("apiserver-kubelet-client.key"): kcKey,
		p("sa.key"):     saKey,
		p("tokens.csv"): []byte(tokens),
	})
}

func (c *Cluster) writeKubeconfigs() error {
	c.Kubeconfig = filepath.Join(c.Dir, "admin.kubeconfig")
	for file, token := range map[string]string{
		c.Kubeconfig: adminToken,
		filepath.Join(c.Dir, "scheduler.kubeconfig"):          schedulerToken,
		filepath.Join(c.Dir, "controller-manager.kubeconfig"): kcmToken,
	} {
		if err := c.WriteKubeconfig(file, "", clientcmdapi.AuthInfo{Token: token}); err != nil {
			return err
		}
	}
	c.Config = &rest.Config{
		Host:            c.APIServerURL,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CA.CertPEM},
		QPS:             200,
		Burst:           400,
	}
	return nil
}

func (c *Cluster) writeSchedulerConfig() error {
	return c.writeSchedulerConfigFile("scheduler.yaml", nil, c.opts.Extenders)
}

// writeSchedulerConfigFile writes a KubeSchedulerConfiguration into the
// cluster's folder: the scheduler's credentials, no leader election, the
// given profiles (nil: the default one) and extenders.
func (c *Cluster) writeSchedulerConfigFile(name string, profiles []schedconfigv1.KubeSchedulerProfile, extenders []schedconfigv1.Extender) error {
	b, err := SchedulerConfig(filepath.Join(c.Dir, "scheduler.kubeconfig"), c.opts.PercentageOfNodesToScore, profiles, extenders)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, name), b, 0o600)
}

// SchedulerConfig is a KubeSchedulerConfiguration (YAML) for a scheduler
// using kubeconfig, without leader election, with the given profiles (nil:
// the default one) and extenders.
func SchedulerConfig(kubeconfig string, percentageOfNodesToScore *int32, profiles []schedconfigv1.KubeSchedulerProfile, extenders []schedconfigv1.Extender) ([]byte, error) {
	leaderElect := false
	cfg := schedconfigv1.KubeSchedulerConfiguration{
		ClientConnection: componentbaseconfigv1alpha1.ClientConnectionConfiguration{
			Kubeconfig: kubeconfig,
			QPS:        200,
			Burst:      400,
		},
		LeaderElection:           componentbaseconfigv1alpha1.LeaderElectionConfiguration{LeaderElect: &leaderElect},
		PercentageOfNodesToScore: percentageOfNodesToScore,
		Profiles:                 profiles,
		Extenders:                extenders,
	}
	cfg.APIVersion = schedconfigv1.SchemeGroupVersion.String()
	cfg.Kind = "KubeSchedulerConfiguration"
	return yaml.Marshal(cfg)
}

func (c *Cluster) newClient() error {
	s := railnetscheme.New()
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	cl, err := client.New(c.Config, client.Options{Scheme: s})
	if err != nil {
		return fmt.Errorf("client for %s: %w", c.APIServerURL, err)
	}
	c.Client, c.Scheme = cl, s
	return nil
}

// waitAPIServer polls /readyz until it answers ok, the process exits or the
// deadline passes.
func (c *Cluster) waitAPIServer(ctx context.Context) error {
	rc, err := rest.UnversionedRESTClientFor(withCodec(c.Config))
	if err != nil {
		return err
	}
	apiserver := c.procs[len(c.procs)-1]
	return c.poll(ctx, "kube-apiserver", apiserver, 60*time.Second, func(ctx context.Context) error {
		body, err := rc.Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return err
		}
		if string(body) != "ok" {
			return fmt.Errorf("readyz: %s", body)
		}
		return nil
	})
}

func (c *Cluster) waitHealthz(ctx context.Context, name string, port int) error {
	var proc *process
	for _, p := range c.processes() {
		if p.name == name {
			proc = p
		}
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// Components serve /healthz with a self-signed certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health probe
	}}
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	return c.poll(ctx, name, proc, 60*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
		}
		return nil
	})
}

func (c *Cluster) poll(ctx context.Context, name string, proc *process, timeout time.Duration, check func(context.Context) error) error {
	err := poll.Wait(ctx, timeout, name+" ready", func() error {
		if proc != nil && proc.exited() {
			return poll.Final(fmt.Errorf("%s exited (%v) before it was ready", name, proc.err))
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return check(cctx)
	})
	if err != nil {
		return fmt.Errorf("%w; its log ends:\n%s", err, c.Logs(name, 30))
	}
	return nil
}

func (c *Cluster) writeState() error {
	st := State{Kubeconfig: c.Kubeconfig, APIServer: c.APIServerURL, PIDs: c.PIDs()}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, "state.json"), b, 0o644)
}

// ReadState reads the state a detached cluster recorded in dir.
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// StopDetached stops the processes a detached cluster in dir recorded and
// removes dir.
func StopDetached(dir string) error {
	st, err := ReadState(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var errs []error
	for _, name := range []string{"kube-controller-manager", "kube-scheduler", "kube-apiserver", "etcd"} {
		if pid, ok := st.PIDs[name]; ok {
			if err := stopPID(pid, 10*time.Second); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.RemoveAll(dir)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func isPortClash(err error) bool {
	return strings.Contains(err.Error(), "address already in use")
}

// Clusters started by this process, stopped on SIGINT/SIGTERM so an
// interrupted `go test` leaves no process and no folder behind.
var live = struct {
	sync.Mutex
	clusters map[*Cluster]bool
	once     sync.Once
}{clusters: map[*Cluster]bool{}}

func register(c *Cluster) {
	live.Lock()
	live.clusters[c] = true
	live.Unlock()
	live.once.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		go func() {
			sig := <-ch
			progressf("%v: stopping the control plane", sig)
			live.Lock()
			cs := make([]*Cluster, 0, len(live.clusters))
			for c := range live.clusters {
				cs = append(cs, c)
			}
			live.Unlock()
			for _, c := range cs {
				c.Stop()
			}
			os.Exit(130)
		}()
	})
}

func unregister(c *Cluster) {
	live.Lock()
	delete(live.clusters, c)
	live.Unlock()
}

// reapStale removes folders of earlier test clusters whose owning process
// died without cleaning up (killed by a test timeout, say). Their processes
// died with it: they were started with a parent-death signal.
func reapStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && !alive(pid) {
			_ = os.RemoveAll(d)
		}
	}
}

// ImpersonatingKubeconfig writes a kubeconfig that acts as user (with the
// given groups) through the admin's impersonation right, so a component can
// be run with exactly the permissions RBAC grants that user — e.g. its chart
// ServiceAccount, "system:serviceaccount:<ns>:<name>".
func (c *Cluster) ImpersonatingKubeconfig(path, user string, groups ...string) error {
	return c.WriteKubeconfig(path, "", clientcmdapi.AuthInfo{Token: adminToken, Impersonate: user, ImpersonateGroups: groups})
}

// SchedulerAuth is kube-scheduler's credential (system:kube-scheduler),
// for a scheduler a test runs itself.
func (c *Cluster) SchedulerAuth() clientcmdapi.AuthInfo {
	return clientcmdapi.AuthInfo{Token: schedulerToken}
}

// AdminAuth is the admin's (system:masters) credential, for kubeconfigs
// that node-side tools such as Multus use.
func (c *Cluster) AdminAuth() clientcmdapi.AuthInfo { return clientcmdapi.AuthInfo{Token: adminToken} }

// WriteKubeconfig writes a kubeconfig for auth. server "" is APIServerURL;
// any other server (the apiserver's address as a real node reaches it) is
// verified under the name "kubernetes", which its certificate carries.
func (c *Cluster) WriteKubeconfig(path, server string, auth clientcmdapi.AuthInfo) error {
	cl := &clientcmdapi.Cluster{Server: c.APIServerURL, CertificateAuthorityData: c.CA.CertPEM}
	if server != "" {
		cl.Server, cl.TLSServerName = server, "kubernetes"
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["ground"] = cl
	cfg.AuthInfos["user"] = &auth
	cfg.Contexts["ground"] = &clientcmdapi.Context{Cluster: "ground", AuthInfo: "user", Namespace: "default"}
	cfg.CurrentContext = "ground"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// RewriteKubeconfig copies the kubeconfig src to dst with its server set to
// server (verified as "kubernetes"): a component's kubeconfig as it is used
// from a real node's network namespace.
func RewriteKubeconfig(src, dst, server string) error {
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		return fmt.Errorf("read kubeconfig %s: %w", src, err)
	}
	for _, cl := range cfg.Clusters {
		cl.Server, cl.TLSServerName = server, "kubernetes"
	}
	if err := clientcmd.WriteToFile(*cfg, dst); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", dst, err)
	}
	return nil
}

// The release and namespace of the chart RBAC that Options.RunAs applies.
const (
	ChartRelease   = "railnet"
	ChartNamespace = "railnet"
)

// As returns a REST config acting as component's chart ServiceAccount (the
// component must be in Options.RunAs).
func (c *Cluster) As(component string) *rest.Config {
	path, ok := c.runAs[component]
	if !ok {
		panic(fmt.Sprintf("ground: component %q is not in Options.RunAs", component))
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		panic(fmt.Sprintf("ground: kubeconfig of %s: %v", component, err))
	}
	cfg.QPS, cfg.Burst = c.Config.QPS, c.Config.Burst
	return cfg
}

// KubeconfigAs is the kubeconfig file behind As, for binaries.
func (c *Cluster) KubeconfigAs(component string) string {
	path, ok := c.runAs[component]
	if !ok {
		panic(fmt.Sprintf("ground: component %q is not in Options.RunAs", component))
	}
	return path
}
