package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/railnet/railnet/api/scheme"
	"github.com/railnet/railnet/api/service"
	"github.com/railnet/railnet/certs/selfmanaged"
	"github.com/railnet/railnet/certs/serving"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/schedsync"
	"github.com/railnet/railnet/extender/server"
	"github.com/railnet/railnet/extender/state"
)

// Config is the extender's configuration.
type Config struct {
	// HTTPAddr serves plain HTTP when set (e.g. ":8880").
	HTTPAddr string
	// HTTPSAddr serves HTTPS when set (e.g. ":8443"), with the
	// certificates TLS describes.
	HTTPSAddr string
	// TLS says where the HTTPS server's certificates come from.
	TLS TLS
	// RequireClientCert makes the HTTPS server answer the scheduler's verbs
	// only to a client certificate signed by a trusted CA (the self-managed
	// CAs, or TLS.CAFile): kube-scheduler's extender tlsConfig
	// certFile/keyFile. /healthz and /metrics stay open to probes and
	// scrapers.
	RequireClientCert bool
	// HTTPListener and HTTPSListener, when set, are used instead of
	// listening on the addresses (tests open them early to know the URL).
	HTTPListener, HTTPSListener net.Listener
	// Namespace holds the extender's objects: the CA Secret, its Service,
	// the scheduler's Deployment, the CA bundle and device plugin
	// ConfigMaps, the scheduler's client certificate Secret.
	Namespace string

	HeartbeatTTL time.Duration
	InFlightTTL  time.Duration
	Topology     placement.Topology
	MaxBodyBytes int64
	// InjectConfig is the webhook's ConfigMap (the chart's
	// <release>-config): the extender follows its podResourceInject
	// section live, as the webhook does, and asks nothing of the nodes for
	// a pod the webhook does not inject. Without a name every inject group
	// is acted on.
	InjectConfig types.NamespacedName
	// DevicePluginConfigMap, when set, is the RDMA device plugin's
	// ConfigMap (in Namespace): the kube-scheduler configurations
	// SchedulerConfigs names keep their extenders' managedResources in step
	// with it (package schedsync).
	DevicePluginConfigMap string
	// SchedulerConfigs are "<configmap>" or "<configmap>:<deployment>"
	// (schedsync.ParseTarget).
	SchedulerConfigs []string
	// SyncTimeout bounds the first cache sync.
	SyncTimeout time.Duration
}

// TLS are the certificate settings of the HTTPS server. With CertFile and
// KeyFile the certificates are files (cert-manager mode, reloaded when they
// change); with neither, railnet's self-managed CA issues them (a CA Secret
// shared with the webhook, rotation without restart).
type TLS struct {
	CertFile, KeyFile string
	// CAFile, with the files, is the CA bundle beside them (cert-manager's
	// ca.crt): it verifies client certificates, and a change of it rolls
	// SchedulerDeployment.
	CAFile string
	// SchedulerDeployment (in Namespace), either mode, is the
	// kube-scheduler that calls the extender: it reads the extender's CA
	// only at start, so its pods are rolled when the CA bundle changes.
	SchedulerDeployment string
	// Self-managed mode: the CA Secret, the Service whose DNS names the
	// certificate carries and extra IPs or DNS names, the lifetimes.
	CASecret, Service                      string
	ExtraSANs                              []string
	CALifetime, CAOverlap, ServingLifetime time.Duration
	// Self-managed mode: a ConfigMap kept holding the CA bundle as ca.crt
	// (for the scheduler's extender tlsConfig), and a Secret kept holding
	// the scheduler's client certificate.
	BundleConfigMap, ClientCertSecret string
}

// Validate refuses settings that would switch a check off silently or
// cannot work.
func (c *Config) Validate() error {
	if c.HeartbeatTTL < 0 {
		return fmt.Errorf("--heartbeat-ttl=%s: must be positive (0 takes the 2m default); a negative TTL would switch staleness off", c.HeartbeatTTL)
	}
	if c.InFlightTTL < 0 {
		return fmt.Errorf("--inflight-ttl=%s: must be positive (0 takes the 30s default)", c.InFlightTTL)
	}
	if c.InjectConfig.Name != "" && c.InjectConfig.Namespace == "" {
		return fmt.Errorf("--inject-configmap=%s needs --namespace, the namespace of that ConfigMap (the chart's release namespace)", c.InjectConfig.Name)
	}
	if !c.serveHTTP() && !c.serveHTTPS() {
		return errors.New("no address to serve on: set --http-address or --https-address")
	}
	if c.serveHTTPS() {
		if _, err := c.servingConfig(); err != nil {
			return err
		}
	}
	_, err := c.schedulerTargets()
	return err
}

func (c *Config) serveHTTP() bool  { return c.HTTPAddr != "" || c.HTTPListener != nil }
func (c *Config) serveHTTPS() bool { return c.HTTPSAddr != "" || c.HTTPSListener != nil }

// servingConfig decides the certificate mode, the one place that does: the
// files when given, else the self-managed CA. It returns certs/serving's
// configuration for that mode, or why the settings cannot work.
func (c *Config) servingConfig() (serving.Config, error) {
	t := c.TLS
	sc := serving.Config{CertFile: t.CertFile, KeyFile: t.KeyFile, CAFile: t.CAFile,
		Namespace: c.Namespace, CASecret: t.CASecret, Service: t.Service, ExtraSANs: t.ExtraSANs,
		CALifetime: t.CALifetime, CAOverlap: t.CAOverlap, ServingLifetime: t.ServingLifetime}
	if sc.SelfManaged() {
		if t.BundleConfigMap != "" {
			sc.BundleConfigMaps = []types.NamespacedName{{Namespace: c.Namespace, Name: t.BundleConfigMap}}
		}
		if t.ClientCertSecret != "" {
			sc.ClientCerts = []selfmanaged.ClientCertOptions{{
				Secret: types.NamespacedName{Namespace: c.Namespace, Name: t.ClientCertSecret}, CommonName: "railnet-scheduler"}}
		}
	} else if c.RequireClientCert && t.CAFile == "" {
		return serving.Config{}, errors.New("--require-client-cert with --tls-cert-file needs --tls-ca-file, the CA that signs the scheduler's client certificate (or --require-client-cert=false)")
	}
	if t.SchedulerDeployment != "" {
		if c.Namespace == "" {
			return serving.Config{}, fmt.Errorf("--scheduler-deployment %s needs --namespace, the namespace of that Deployment", t.SchedulerDeployment)
		}
		sc.RolloutDeployments = []types.NamespacedName{{Namespace: c.Namespace, Name: t.SchedulerDeployment}}
	}
	return sc, nil
}

// schedulerTargets are the kube-scheduler configurations that follow the
// device plugin's ConfigMap; none without DevicePluginConfigMap.
func (c *Config) schedulerTargets() ([]schedsync.Target, error) {
	if c.DevicePluginConfigMap == "" {
		return nil, nil
	}
	if c.Namespace == "" || len(c.SchedulerConfigs) == 0 {
		return nil, fmt.Errorf("--device-plugin-configmap %s needs --namespace and --scheduler-configs", c.DevicePluginConfigMap)
	}
	var targets []schedsync.Target
	for _, s := range c.SchedulerConfigs {
		t, err := schedsync.ParseTarget(s)
		if err != nil {
			return nil, fmt.Errorf("--scheduler-configs: %w", err)
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.HeartbeatTTL == 0 {
		c.HeartbeatTTL = 2 * time.Minute
	}
	if c.InFlightTTL == 0 {
		c.InFlightTTL = 30 * time.Second
	}
	if c.Topology.BlockKey == "" {
		c.Topology.BlockKey = placement.DefaultTopology.BlockKey
	}
	if c.Topology.SpineKey == "" {
		c.Topology.SpineKey = placement.DefaultTopology.SpineKey
	}
	if c.SyncTimeout == 0 {
		c.SyncTimeout = 2 * time.Minute
	}
}

// Run serves until ctx ends, then shuts the servers down gracefully.
func Run(ctx context.Context, rc *rest.Config, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.Defaults()
	log := klog.FromContext(ctx)
	var certs *serving.Source
	if cfg.serveHTTPS() {
		sc, _ := cfg.servingConfig() // valid: Validate checked it
		var err error
		if certs, err = serving.New(rc, sc); err != nil {
			return err
		}
	}
	var syncer *schedsync.Syncer
	if targets, _ := cfg.schedulerTargets(); len(targets) > 0 {
		syncer = &schedsync.Syncer{Namespace: cfg.Namespace, DevicePlugin: cfg.DevicePluginConfigMap, Targets: targets}
		var err error
		if syncer.Client, err = kubernetes.NewForConfig(rc); err != nil {
			return err
		}
	}

	c, err := cache.New(rc, state.CacheOptions(cache.Options{Scheme: scheme.New()}, cfg.InjectConfig))
	if err != nil {
		return fmt.Errorf("informer cache: %w", err)
	}
	store, err := state.NewCacheStore(ctx, c, cfg.InjectConfig)
	if err != nil {
		return err
	}
	// The node count bounds what a request may carry.
	var nodeCount atomic.Int64
	nodeInformer, err := c.GetInformer(ctx, &corev1.Node{})
	if err != nil {
		return fmt.Errorf("node informer: %w", err)
	}
	if _, err := nodeInformer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { nodeCount.Add(1) },
		DeleteFunc: func(any) { nodeCount.Add(-1) },
	}); err != nil {
		return fmt.Errorf("node informer: %w", err)
	}
	g, ctx := service.NewGroup(ctx)
	g.Go("informer cache", c.Start)
	if certs != nil {
		g.Go("certificates", certs.Start)
	}
	if syncer != nil {
		g.Go("scheduler configuration sync", syncer.Run)
	}
	syncCtx, cancel := context.WithTimeout(ctx, cfg.SyncTimeout)
	// The store's books follow the informers' events, which may lag the
	// informers' own sync.
	synced := c.WaitForCacheSync(syncCtx) && toolscache.WaitForCacheSync(syncCtx.Done(), store.Synced)
	cancel()
	if !synced {
		if err := g.Wait(); err != nil || ctx.Err() != nil {
			return err // stopped while starting, or the cause
		}
		return fmt.Errorf("informer caches did not sync within %s: check the extender's RBAC (list/watch nodes, pods, namespaces, rdmanodes, ipallocations, spiderippools, spidermultusconfigs; and ConfigMap %s when --inject-configmap is set)", cfg.SyncTimeout, cfg.InjectConfig)
	}
	log.Info("informer caches synced")

	decider := state.NewDecider(store, cfg.HeartbeatTTL, cfg.InFlightTTL, cfg.Topology)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if certs != nil {
		reg.MustRegister(certs) // certificate expiry
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "railnet_extender_inflight_pods", Help: "Pods passed for a single node and not yet seen bound or allocated.",
	}, func() float64 { return float64(decider.InFlight.Len()) }))
	handler := server.New(decider, server.Options{
		MaxBodyBytes: cfg.MaxBodyBytes,
		NodeCount:    func() int { return int(max(nodeCount.Load(), 0)) },
		Registry:     reg,
		Healthy: func() error {
			if certs != nil {
				return certs.HealthError()
			}
			return nil
		},
	})

	// The scheduler's httpTimeout is 5 s in the chart: a request that takes
	// longer to send or to answer is cut off by service.Serve's limits.
	serve := func(name string, l net.Listener, addr string, tlsCfg *tls.Config, handler http.Handler) error {
		if l == nil {
			var err error
			if l, err = net.Listen("tcp", addr); err != nil {
				return fmt.Errorf("listen %s on %s: %w", name, addr, err)
			}
		}
		g.Go(name+" server", func(ctx context.Context) error { return service.Serve(ctx, l, handler, tlsCfg) })
		return nil
	}
	if cfg.serveHTTP() {
		if err := serve("http", cfg.HTTPListener, cfg.HTTPAddr, nil, handler); err != nil {
			return err
		}
	}
	if certs != nil {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
		h := handler
		if cfg.RequireClientCert { // plain HTTP (loopback only) is never asked for one
			tlsCfg = ClientCertTLS(tlsCfg, certs)
			h = RequireClientCert(handler)
		}
		if err := serve("https", cfg.HTTPSListener, cfg.HTTPSAddr, tlsCfg, h); err != nil {
			return err
		}
	}
	return g.Wait()
}
