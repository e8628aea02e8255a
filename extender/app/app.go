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
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/railnet/railnet/api/scheme"
	"github.com/railnet/railnet/certs/filesource"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/server"
	"github.com/railnet/railnet/extender/state"
)

// Config is the extender's configuration.
type Config struct {
	// HTTPAddr serves plain HTTP when set (e.g. ":8880").
	HTTPAddr string
	// HTTPSAddr serves HTTPS with CertFile/KeyFile when set (e.g. ":8443").
	HTTPSAddr         string
	CertFile, KeyFile string
	// Certs, when set, serves HTTPS instead of CertFile/KeyFile: the
	// self-managed certificates of package certs (CA in a Secret, rotation
	// without restart). Without it, CertFile/KeyFile are served through
	// certs/filesource (reloaded when they change). Run starts it.
	Certs TLSSource
	// CAFile, with CertFile/KeyFile, is the CA bundle beside them; it
	// verifies client certificates (RequireClientCert).
	CAFile string
	// RequireClientCert makes the HTTPS server answer the scheduler's verbs
	// only to a client certificate signed by a trusted CA (Certs' TrustedCAs,
	// or CAFile): kube-scheduler's extender tlsConfig certFile/keyFile.
	// /healthz and /metrics stay open to probes and scrapers.
	RequireClientCert bool
	// HTTPListener and HTTPSListener, when set, are used instead of
	// listening on the addresses (tests open them early to know the URL).
	HTTPListener, HTTPSListener net.Listener

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
	// SyncTimeout bounds the first cache sync.
	SyncTimeout time.Duration
}

// TLSSource hands out the current serving certificate per handshake.
type TLSSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	HealthError() error
	Start(ctx context.Context) error
}

// Validate refuses settings that would switch a check off silently.
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
	return nil
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
	if cfg.HTTPAddr == "" && cfg.HTTPListener == nil && cfg.HTTPSAddr == "" && cfg.HTTPSListener == nil {
		return errors.New("no address to serve on: set --http-address or --https-address")
	}
	if (cfg.HTTPSAddr != "" || cfg.HTTPSListener != nil) && cfg.Certs == nil {
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return errors.New("HTTPS needs --tls-cert-file and --tls-key-file")
		}
		if cfg.RequireClientCert && cfg.CAFile == "" {
			return errors.New("--require-client-cert with --tls-cert-file needs --tls-ca-file, the CA that signs the scheduler's client certificate")
		}
		fs, err := filesource.New(filesource.Options{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, CAFile: cfg.CAFile})
		if err != nil {
			return err
		}
		if err := fs.Load(); err != nil {
			return err
		}
		cfg.Certs = fileCAs{fs}
	}
	if cfg.RequireClientCert && cfg.Certs != nil {
		if _, ok := cfg.Certs.(ClientCAs); !ok {
			return errors.New("--require-client-cert needs the CA that signs the scheduler's client certificate " +
				"(self-managed certificates, or --tls-ca-file beside --tls-cert-file)")
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
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.Start(ctx) })
	if cfg.Certs != nil {
		g.Go(func() error { return cfg.Certs.Start(ctx) })
	}
	syncCtx, cancel := context.WithTimeout(ctx, cfg.SyncTimeout)
	synced := c.WaitForCacheSync(syncCtx)
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
	if col, ok := cfg.Certs.(prometheus.Collector); ok {
		reg.MustRegister(col) // certificate expiry (serving.Source)
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "railnet_extender_inflight_pods", Help: "Pods passed for a single node and not yet seen bound or allocated.",
	}, func() float64 { return float64(decider.InFlight.Len()) }))
	handler := server.New(decider, server.Options{
		MaxBodyBytes: cfg.MaxBodyBytes,
		NodeCount:    func() int { return int(max(nodeCount.Load(), 0)) },
		Registry:     reg,
		Healthy: func() error {
			if cfg.Certs != nil {
				return cfg.Certs.HealthError()
			}
			return nil
		},
	})

	var servers []*http.Server
	serve := func(name string, l net.Listener, addr string, tlsCfg *tls.Config, handler http.Handler) error {
		if l == nil {
			var err error
			if l, err = net.Listen("tcp", addr); err != nil {
				return fmt.Errorf("listen %s on %s: %w", name, addr, err)
			}
		}
		// The scheduler's httpTimeout is 5 s in the chart: a request that
		// takes longer to send or to answer is cut off.
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, TLSConfig: tlsCfg}
		servers = append(servers, srv)
		log.Info("serving", "scheme", name, "address", l.Addr().String())
		g.Go(func() error {
			var err error
			if tlsCfg != nil {
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("%s server: %w", name, err)
		})
		return nil
	}
	if cfg.HTTPAddr != "" || cfg.HTTPListener != nil {
		if err := serve("http", cfg.HTTPListener, cfg.HTTPAddr, nil, handler); err != nil {
			return err
		}
	}
	if cfg.Certs != nil {
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cfg.Certs.GetCertificate}
		h := handler
		if cfg.RequireClientCert { // plain HTTP (loopback only) is never asked for one
			tlsCfg = ClientCertTLS(tlsCfg, cfg.Certs.(ClientCAs))
			h = RequireClientCert(handler)
		}
		if err := serve("https", cfg.HTTPSListener, cfg.HTTPSAddr, tlsCfg, h); err != nil {
			return err
		}
	}
	g.Go(func() error {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(shutdown)
		}
		return nil
	})
	err = g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
