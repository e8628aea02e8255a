package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
	"github.com/railnet/railnet/api/service"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/nodeagent/deviceplugin"
	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/nodeagent/dra"
	"github.com/railnet/railnet/nodeagent/inventory"
	"github.com/railnet/railnet/nodeagent/metrics"
)

// Service is a long-running part of the agent started with it and stopped
// when the agent stops; Run returns nil on a clean stop.
type Service interface {
	Run(ctx context.Context) error
}

// Options configure the agent.
type Options struct {
	NodeName string
	// SysfsRoot stands for "/" when reading /sys and /dev/infiniband.
	SysfsRoot string
	// NetnsPath is the netns whose netdevs are the NICs ("" = the agent's).
	NetnsPath string
	// KubeletRoot holds device-plugins/kubelet.sock (default
	// /var/lib/kubelet).
	KubeletRoot string
	// DevicePluginConfig is the shared device plugin's config.json; "" turns
	// the device plugin off.
	DevicePluginConfig string
	// PluginWatcher registers the device plugin through the kubelet's plugin
	// watcher (<kubelet root>/plugins_registry) instead of kubelet.sock.
	PluginWatcher bool
	// MetricsAddr is the Prometheus listen address; "" turns it off.
	MetricsAddr string
	// HealthAddr serves /healthz (see Health); "" turns it off. The
	// metrics listener serves the same /healthz.
	HealthAddr string
	// IPAMSocket is checked by /healthz; "" skips the check.
	IPAMSocket string
	// RDMACounters adds the per-port RDMA counters to the metrics.
	RDMACounters bool
	// RailsByIfName overrides rail assignment (see package discovery).
	RailsByIfName map[string]int32
	// RestConfig reaches the API server.
	RestConfig *rest.Config
	// DiscoveryInterval is how often the node is re-read (default 2s).
	DiscoveryInterval time.Duration
	// MastersInterval is how often SpiderMultusConfig masters are re-read
	// for rail numbering (default 30s).
	MastersInterval time.Duration
	// Heartbeat is how often an unchanged RDMANode status is confirmed
	// (default 30s).
	Heartbeat time.Duration
	// NetnsMode asks for the RDMA netns mode (default: the kernel).
	NetnsMode discovery.NetnsModeFunc

	// DRA runs the rails DRA driver (package dra) beside the device plugin:
	// off by default, so device-plugin mode is unchanged.
	DRA bool
	// DRAShares is each rail NIC's consumable "shares" capacity (how many
	// allocations one NIC takes; 0 = dra.DefaultShares).
	DRAShares int64
	// CDIDir is where the DRA driver writes CDI specs (default /var/run/cdi).
	CDIDir string

	// IPAM is the node's IPAM service (nodeagent/ipam, owned by the IPAM
	// work): the agent runs IPAM.Run(ctx) next to its other parts and stops
	// it with them; nil when not wired. This is the hook where cmd/railnet-
	// agent passes the service built from --ipam-socket.
	IPAM Service
	// IPAMMetrics are the IPAM service's metrics, served with the agent's;
	// nil when IPAM is off.
	IPAMMetrics *metrics.IPAM
}

func (o *Options) defaults() error {
	if o.NodeName == "" {
		return errors.New("agent: the node name is required (--node-name or NODE_NAME)")
	}
	if o.RestConfig == nil {
		return errors.New("agent: a kubeconfig or in-cluster config is required")
	}
	if o.SysfsRoot == "" {
		o.SysfsRoot = "/"
	}
	if o.KubeletRoot == "" {
		o.KubeletRoot = "/var/lib/kubelet"
	}
	if o.DiscoveryInterval <= 0 {
		o.DiscoveryInterval = 2 * time.Second
	}
	if o.MastersInterval <= 0 {
		o.MastersInterval = 30 * time.Second
	}
	if o.NetnsMode == nil {
		o.NetnsMode = discovery.KernelNetnsMode
	}
	return nil
}

// Agent is a running agent's shared state.
type Agent struct {
	opts   Options
	client client.Client
	links  discovery.Links

	mu            sync.RWMutex
	node          *discovery.Node
	lastDiscovery time.Time
	lastSync      time.Time // the RDMANode's last successful sync
	masters       []string
	dp            *deviceplugin.Manager
	started       time.Time
	recorder      record.EventRecorder
}

// Run runs the agent until ctx ends or a part fails.
func Run(ctx context.Context, opts Options) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	log := klog.FromContext(ctx).WithValues("node", opts.NodeName)
	ctx = klog.NewContext(ctx, log)
	if err := discovery.PointRdmamap(opts.SysfsRoot); err != nil {
		return err
	}
	c, err := client.New(opts.RestConfig, client.Options{Scheme: scheme.New()})
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	links, err := discovery.OpenLinks(opts.NetnsPath)
	if err != nil {
		return err
	}
	defer links.Close()
	a := &Agent{opts: opts, client: c, links: links, started: time.Now()}
	kube, err := kubernetes.NewForConfig(opts.RestConfig)
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	events := record.NewBroadcaster(record.WithContext(ctx))
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	defer events.Shutdown()
	a.recorder = events.NewRecorder(scheme.New(), corev1.EventSource{Component: "railnet-agent", Host: opts.NodeName})

	a.refreshMasters(ctx)
	if err := a.discover(); err != nil {
		return fmt.Errorf("first discovery: %w", err)
	}
	n := a.Node()
	log.Info("discovered", "nics", len(n.NICs), "gpus", len(n.GPUs), "netnsMode", n.NetnsMode, "railSource", n.RailSource)

	if opts.DevicePluginConfig != "" {
		regDir := ""
		if opts.PluginWatcher {
			regDir = filepath.Join(opts.KubeletRoot, "plugins_registry")
		}
		dp, err := deviceplugin.New(deviceplugin.Options{
			DevicePluginDir:    filepath.Join(opts.KubeletRoot, "device-plugins"),
			PluginsRegistryDir: regDir,
			ConfigPath:         opts.DevicePluginConfig,
			NICs:               a.nics,
			CharDevices:        discovery.CharDevices,
		})
		if err != nil {
			return err
		}
		a.dp = dp
	}

	var railsDriver *dra.Driver
	if opts.DRA {
		if railsDriver, err = a.newDRADriver(); err != nil {
			return err
		}
	}

	g, ctx := service.NewGroup(ctx)
	g.Go("inventory", a.loop)
	if a.dp != nil {
		g.Go("device plugin", a.dp.Run)
	}
	if railsDriver != nil {
		g.Go("DRA driver", railsDriver.Run)
	}
	if opts.MetricsAddr != "" {
		g.Go("metrics server", a.serveMetrics)
	}
	if opts.HealthAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", a.healthz)
		g.Go("health server", func(ctx context.Context) error { return serve(ctx, opts.HealthAddr, mux) })
	}
	if opts.IPAM != nil {
		g.Go("IPAM service", opts.IPAM.Run)
	}
	return g.Wait()
}

// newDRADriver builds the rails DRA driver on the agent's discovery.
func (a *Agent) newDRADriver() (*dra.Driver, error) {
	cs, err := kubernetes.NewForConfig(a.opts.RestConfig)
	if err != nil {
		return nil, fmt.Errorf("DRA driver client: %w", err)
	}
	return dra.New(dra.Options{
		NodeName: a.opts.NodeName, KubeClient: cs, KubeletRoot: a.opts.KubeletRoot, CDIDir: a.opts.CDIDir,
		SysfsRoot: a.opts.SysfsRoot, Shares: a.opts.DRAShares, Interval: a.opts.DiscoveryInterval,
		NICs: a.nics, CharDevices: discovery.CharDevices,
	})
}

// Node returns the last discovery.
func (a *Agent) Node() *discovery.Node {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.node
}

func (a *Agent) nics() ([]railnetv1.NIC, error) {
	n := a.Node()
	if n == nil {
		return nil, errors.New("no discovery yet")
	}
	return n.NICs, nil
}

func (a *Agent) discover() error {
	a.mu.RLock()
	masters := a.masters
	a.mu.RUnlock()
	n, err := discovery.Discover(discovery.Options{
		SysfsRoot: a.opts.SysfsRoot, Links: a.links, NetnsMode: a.opts.NetnsMode,
		Rails: discovery.RailConfig{ByIfName: a.opts.RailsByIfName, Masters: masters},
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.node, a.lastDiscovery = n, time.Now()
	a.mu.Unlock()
	return nil
}

// refreshMasters lists SpiderMultusConfigs for rail numbering; on error the
// previous masters stay.
func (a *Agent) refreshMasters(ctx context.Context) {
	if len(a.opts.RailsByIfName) > 0 {
		return
	}
	var list spiderv2beta1.SpiderMultusConfigList
	if err := a.client.List(ctx, &list); err != nil {
		klog.FromContext(ctx).Error(err, "list SpiderMultusConfigs for rail numbering; keeping the previous rails")
		return
	}
	m := discovery.RailMasters(list.Items)
	a.mu.Lock()
	a.masters = m
	a.mu.Unlock()
}

// loop re-discovers and syncs the inventory until ctx ends. API errors are
// logged and retried on the next tick.
func (a *Agent) loop(ctx context.Context) error {
	log := klog.FromContext(ctx)
	syncer := &inventory.Syncer{Client: a.client, NodeName: a.opts.NodeName, Heartbeat: a.opts.Heartbeat, Recorder: a.recorder}
	tick := time.NewTicker(a.opts.DiscoveryInterval)
	defer tick.Stop()
	lastMasters := time.Now()
	for {
		if err := syncer.Sync(ctx, a.snapshot()); err != nil {
			if ctx.Err() == nil {
				log.Error(err, "sync the node inventory; retrying")
			}
		} else {
			a.mu.Lock()
			a.lastSync = time.Now()
			a.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if time.Since(lastMasters) >= a.opts.MastersInterval {
			a.refreshMasters(ctx)
			lastMasters = time.Now()
		}
		if err := a.discover(); err != nil {
			log.Error(err, "discovery failed; keeping the last result")
		}
	}
}

// configs are the agent's hot-reloaded inputs and their last refusals.
func (a *Agent) configs() []inventory.ConfigInput {
	if a.dp == nil {
		return nil
	}
	return []inventory.ConfigInput{{Name: "device plugin config " + a.opts.DevicePluginConfig, Err: a.dp.ConfigError()}}
}

func (a *Agent) snapshot() inventory.Snapshot {
	n := a.Node()
	s := inventory.Snapshot{NetnsMode: n.NetnsMode, NICs: n.NICs, GPUs: n.GPUs, Configs: a.configs()}
	if a.dp != nil {
		s.Resources = map[string][]string{}
		for _, r := range a.dp.Status() {
			for _, nd := range r.Netdevs {
				s.Resources[nd] = append(s.Resources[nd], r.Name)
			}
		}
	}
	return s
}

func (a *Agent) serveMetrics(ctx context.Context) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	src := metrics.Sources{NICs: func() []railnetv1.NIC { return a.Node().NICs }, LastSync: func() time.Time {
		a.mu.RLock()
		defer a.mu.RUnlock()
		return a.lastSync
	}}
	if a.opts.RDMACounters {
		src.Counters = discovery.PortCounters
	}
	if a.dp != nil {
		src.Resources = func() []metrics.Resource {
			var out []metrics.Resource
			for _, r := range a.dp.Status() {
				out = append(out, metrics.Resource{Name: r.Name, Devices: r.Devices, Healthy: r.Healthy, Registered: r.Registered, Down: r.Down})
			}
			return out
		}
	}
	reg.MustRegister(metrics.New(a.opts.NodeName, src))
	if a.opts.IPAMMetrics != nil {
		reg.MustRegister(a.opts.IPAMMetrics)
	}
	reg.MustRegister(metrics.NewConfigCollector(a.opts.NodeName, func() []metrics.ConfigState {
		var out []metrics.ConfigState
		if a.dp != nil {
			out = append(out, metrics.ConfigState{Input: "device_plugin", Valid: a.dp.ConfigError() == nil})
		}
		return out
	}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", a.healthz)
	return serve(ctx, a.opts.MetricsAddr, mux)
}

// serve listens on addr and serves h there until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return service.Serve(ctx, l, h, nil)
}

// healthz answers 200 with "ok" (and any warnings) or 500 with the problems
// a restart of the agent would fix: the liveness probe's endpoint.
func (a *Agent) healthz(w http.ResponseWriter, _ *http.Request) {
	a.mu.RLock()
	in := HealthInputs{Now: time.Now(), Started: a.started, LastDiscovery: a.lastDiscovery,
		DiscoveryInterval: a.opts.DiscoveryInterval, IPAMSocket: a.opts.IPAMSocket}
	a.mu.RUnlock()
	if a.dp != nil {
		for _, r := range a.dp.Status() {
			if !r.Registered {
				in.Unregistered = append(in.Unregistered, r.Name)
			}
		}
		in.ConfigError = a.dp.ConfigError()
	}
	if in.IPAMSocket != "" {
		_, in.IPAMSocketErr = os.Stat(in.IPAMSocket)
	}
	problems, warnings := Health(in)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, strings.Join(append(problems, warnings...), "\n"))
		return
	}
	fmt.Fprintln(w, strings.Join(append([]string{"ok"}, warnings...), "\n"))
}
