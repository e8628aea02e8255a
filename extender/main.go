package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/railnet/railnet/certs/selfmanaged"
	"github.com/railnet/railnet/certs/serving"
	"github.com/railnet/railnet/extender/app"
	"github.com/railnet/railnet/extender/schedsync"
)

// certFlags are the certificate flags besides the files: the self-managed
// mode's (used when --https-address is set without --tls-cert-file and
// --tls-key-file) and the scheduler roll of both modes.
type certFlags struct {
	namespace, service, caSecret, bundleConfigMap string
	schedulerDeployment, caFile                   string
	caLifetime, caOverlap, servingLifetime        time.Duration
	extraSANs                                     string
	clientSecret                                  string
	// devicePlugin and schedulerConfigs: package schedsync's inputs.
	devicePlugin, schedulerConfigs string
	// injectConfig is the webhook's ConfigMap.
	injectConfig string
}

func main() {
	var cfg app.Config
	var sm certFlags
	klog.InitFlags(nil)
	flag.StringVar(&cfg.HTTPAddr, "http-address", ":8880", "address for plain HTTP (empty: off)")
	flag.StringVar(&cfg.HTTPSAddr, "https-address", "", "address for HTTPS (needs the certificate flags)")
	flag.StringVar(&cfg.CertFile, "tls-cert-file", "", "serving certificate (PEM), reloaded when it changes")
	flag.StringVar(&cfg.KeyFile, "tls-key-file", "", "serving key (PEM)")
	flag.StringVar(&sm.caFile, "tls-ca-file", "", "with the certificate files: the CA bundle beside them (cert-manager's ca.crt); a change rolls --scheduler-deployment")
	flag.DurationVar(&cfg.HeartbeatTTL, "heartbeat-ttl", 0, "oldest RDMANode heartbeat accepted (default 2m)")
	flag.DurationVar(&cfg.InFlightTTL, "inflight-ttl", 0, "how long a pod passed for one node holds its slots and addresses before the cache shows it (default 30s)")
	flag.StringVar(&cfg.Topology.BlockKey, "block-label", "", "node label of the network block (default network.topology.nvidia.com/block)")
	flag.StringVar(&cfg.Topology.SpineKey, "spine-label", "", "node label of the spine (default network.topology.nvidia.com/spine)")
	flag.StringVar(&sm.namespace, "namespace", "", "namespace of the CA Secret, the extender's Service and --scheduler-deployment")
	flag.StringVar(&sm.service, "service", "railnet-extender", "self-managed certificates: the extender's Service name (certificate DNS names)")
	flag.StringVar(&sm.caSecret, "ca-secret", "", "self-managed certificates: CA Secret name (shared with the webhook)")
	flag.StringVar(&sm.bundleConfigMap, "ca-bundle-configmap", "", "self-managed certificates: ConfigMap (in --namespace) kept holding the CA bundle as ca.crt, for the scheduler's extender tlsConfig")
	flag.StringVar(&sm.schedulerDeployment, "scheduler-deployment", "", "Deployment (in --namespace) of the kube-scheduler that calls this extender; "+
		"kube-scheduler reads the extender's CA only at start, so its pods are rolled whenever the CA bundle changes "+
		"(self-managed: twice per CA rotation, within --ca-overlap; cert-manager: when --tls-ca-file changes)")
	flag.DurationVar(&sm.caLifetime, "ca-lifetime", 0, "self-managed certificates: CA lifetime")
	flag.DurationVar(&sm.caOverlap, "ca-overlap", 0, "self-managed certificates: how long old and new CA are trusted together in a rotation (default 24h)")
	flag.DurationVar(&sm.servingLifetime, "serving-lifetime", 0, "self-managed certificates: serving certificate lifetime")
	flag.StringVar(&sm.extraSANs, "extra-sans", "", "self-managed certificates: comma-separated extra IPs / DNS names")
	flag.StringVar(&sm.devicePlugin, "device-plugin-configmap", "", "ConfigMap (in --namespace) of the RDMA device plugin config; with --scheduler-configs, their extenders' managedResources follow it as edited")
	flag.StringVar(&sm.schedulerConfigs, "scheduler-configs", "", "comma-separated ConfigMaps (in --namespace) holding kube-scheduler configurations that call this extender, each as <configmap> or <configmap>:<deployment> (the Deployment is rolled when its configuration changes)")
	flag.BoolVar(&cfg.RequireClientCert, "require-client-cert", true, "HTTPS: answer the scheduler's verbs only to a client certificate signed by the CA "+
		"(self-managed: the one --client-cert-secret holds; cert-manager: signed by the CA of --tls-ca-file)")
	flag.StringVar(&sm.clientSecret, "client-cert-secret", "", "self-managed certificates: Secret (in --namespace) kept holding the scheduler's client certificate (tls.crt, tls.key, ca.crt)")
	flag.StringVar(&sm.injectConfig, "inject-configmap", "", "the webhook's ConfigMap (in --namespace; the chart's <release>-config): its podResourceInject section (enabled, namespacesInclude, namespacesExclude) is followed live, "+
		"so pods the webhook does not inject ask nothing of the nodes (empty: every inject group is acted on)")
	flag.Int64Var(&cfg.MaxBodyBytes, "max-request-bytes", 0, "largest ExtenderArgs accepted (default 32 MiB)")
	flag.Parse() // --kubeconfig comes from controller-runtime's config package
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, sm); err != nil {
		fmt.Fprintln(os.Stderr, "railnet extender:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg app.Config, sm certFlags) error {
	ctrllog.SetLogger(klog.NewKlogr())
	rc, err := config.GetConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if cfg.HTTPSAddr != "" {
		// Either mode: certificate files (cert-manager) or self-managed.
		sc := serving.Config{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, CAFile: sm.caFile,
			Namespace: sm.namespace, CASecret: sm.caSecret, Service: sm.service,
			CALifetime: sm.caLifetime, CAOverlap: sm.caOverlap, ServingLifetime: sm.servingLifetime}
		if sm.extraSANs != "" {
			sc.ExtraSANs = strings.Split(sm.extraSANs, ",")
		}
		if sm.bundleConfigMap != "" && sc.SelfManaged() {
			sc.BundleConfigMaps = []types.NamespacedName{{Namespace: sm.namespace, Name: sm.bundleConfigMap}}
		}
		if sm.clientSecret != "" && sc.SelfManaged() {
			sc.ClientCerts = []selfmanaged.ClientCertOptions{{
				Secret: types.NamespacedName{Namespace: sm.namespace, Name: sm.clientSecret}, CommonName: "railnet-scheduler"}}
		}
		if cfg.RequireClientCert && !sc.SelfManaged() && sm.caFile == "" {
			return fmt.Errorf("--require-client-cert with --tls-cert-file needs --tls-ca-file, the CA that signs the scheduler's client certificate (or --require-client-cert=false)")
		}
		if sm.schedulerDeployment != "" {
			if sm.namespace == "" {
				return fmt.Errorf("--scheduler-deployment %s needs --namespace, the namespace of that Deployment", sm.schedulerDeployment)
			}
			sc.RolloutDeployments = []types.NamespacedName{{Namespace: sm.namespace, Name: sm.schedulerDeployment}}
		}
		src, err := serving.New(rc, sc)
		if err != nil {
			return err
		}
		cfg.Certs = src
	}
	if sm.injectConfig != "" {
		cfg.InjectConfig = types.NamespacedName{Namespace: sm.namespace, Name: sm.injectConfig}
	}
	ctx = klog.NewContext(ctx, klog.Background())
	if sm.devicePlugin == "" {
		return app.Run(ctx, rc, cfg)
	}
	if sm.namespace == "" || sm.schedulerConfigs == "" {
		return fmt.Errorf("--device-plugin-configmap %s needs --namespace and --scheduler-configs", sm.devicePlugin)
	}
	syncer := &schedsync.Syncer{Namespace: sm.namespace, DevicePlugin: sm.devicePlugin}
	if syncer.Client, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	for _, s := range strings.Split(sm.schedulerConfigs, ",") {
		t, err := schedsync.ParseTarget(s)
		if err != nil {
			return fmt.Errorf("--scheduler-configs: %w", err)
		}
		syncer.Targets = append(syncer.Targets, t)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return syncer.Run(ctx) })
	g.Go(func() error { return app.Run(ctx, rc, cfg) })
	return g.Wait()
}
