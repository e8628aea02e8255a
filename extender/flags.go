package main

import (
	"flag"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/extender/app"
)

// flags are the extender's command line: app.Config and the few flags that
// need splitting or a namespace first.
type flags struct {
	cfg                                    app.Config
	extraSANs, schedulerConfigs, injectMap string
}

// bindFlags registers the extender's flags on fs (controller-runtime's
// config package adds --kubeconfig to the process's flag set).
func bindFlags(fs *flag.FlagSet) *flags {
	f := &flags{}
	c, t := &f.cfg, &f.cfg.TLS
	fs.StringVar(&c.HTTPAddr, "http-address", ":8880", "address for plain HTTP (empty: off)")
	fs.StringVar(&c.HTTPSAddr, "https-address", "", "address for HTTPS (needs the certificate flags)")
	fs.StringVar(&t.CertFile, "tls-cert-file", "", "serving certificate (PEM), reloaded when it changes")
	fs.StringVar(&t.KeyFile, "tls-key-file", "", "serving key (PEM)")
	fs.StringVar(&t.CAFile, "tls-ca-file", "", "with the certificate files: the CA bundle beside them (cert-manager's ca.crt); a change rolls --scheduler-deployment")
	fs.DurationVar(&c.HeartbeatTTL, "heartbeat-ttl", 0, "oldest RDMANode heartbeat accepted (default 2m)")
	fs.DurationVar(&c.InFlightTTL, "inflight-ttl", 0, "how long a pod passed for one node holds its slots and addresses before the cache shows it (default 30s)")
	fs.StringVar(&c.Topology.BlockKey, "block-label", "", "node label of the network block (default network.topology.nvidia.com/block)")
	fs.StringVar(&c.Topology.SpineKey, "spine-label", "", "node label of the spine (default network.topology.nvidia.com/spine)")
	fs.StringVar(&c.Namespace, "namespace", "", "namespace of the CA Secret, the extender's Service and --scheduler-deployment")
	fs.StringVar(&t.Service, "service", "railnet-extender", "self-managed certificates: the extender's Service name (certificate DNS names)")
	fs.StringVar(&t.CASecret, "ca-secret", "", "self-managed certificates: CA Secret name (shared with the webhook)")
	fs.StringVar(&t.BundleConfigMap, "ca-bundle-configmap", "", "self-managed certificates: ConfigMap (in --namespace) kept holding the CA bundle as ca.crt, for the scheduler's extender tlsConfig")
	fs.StringVar(&t.SchedulerDeployment, "scheduler-deployment", "", "Deployment (in --namespace) of the kube-scheduler that calls this extender; "+
		"kube-scheduler reads the extender's CA only at start, so its pods are rolled whenever the CA bundle changes "+
		"(self-managed: twice per CA rotation, within --ca-overlap; cert-manager: when --tls-ca-file changes)")
	fs.DurationVar(&t.CALifetime, "ca-lifetime", 0, "self-managed certificates: CA lifetime")
	fs.DurationVar(&t.CAOverlap, "ca-overlap", 0, "self-managed certificates: how long old and new CA are trusted together in a rotation (default 24h)")
	fs.DurationVar(&t.ServingLifetime, "serving-lifetime", 0, "self-managed certificates: serving certificate lifetime")
	fs.StringVar(&f.extraSANs, "extra-sans", "", "self-managed certificates: comma-separated extra IPs / DNS names")
	fs.StringVar(&c.DevicePluginConfigMap, "device-plugin-configmap", "", "ConfigMap (in --namespace) of the RDMA device plugin config; with --scheduler-configs, their extenders' managedResources follow it as edited")
	fs.StringVar(&f.schedulerConfigs, "scheduler-configs", "", "comma-separated ConfigMaps (in --namespace) holding kube-scheduler configurations that call this extender, each as <configmap> or <configmap>:<deployment> (the Deployment is rolled when its configuration changes)")
	fs.BoolVar(&c.RequireClientCert, "require-client-cert", true, "HTTPS: answer the scheduler's verbs only to a client certificate signed by the CA "+
		"(self-managed: the one --client-cert-secret holds; cert-manager: signed by the CA of --tls-ca-file)")
	fs.StringVar(&t.ClientCertSecret, "client-cert-secret", "", "self-managed certificates: Secret (in --namespace) kept holding the scheduler's client certificate (tls.crt, tls.key, ca.crt)")
	fs.StringVar(&f.injectMap, "inject-configmap", "", "the webhook's ConfigMap (in --namespace; the chart's <release>-config): its podResourceInject section (enabled, namespacesInclude, namespacesExclude) is followed live, "+
		"so pods the webhook does not inject ask nothing of the nodes (empty: every inject group is acted on)")
	fs.Int64Var(&c.MaxBodyBytes, "max-request-bytes", 0, "largest ExtenderArgs accepted (default 32 MiB)")
	return f
}

// config is the extender's configuration once the flags are parsed.
func (f *flags) config() app.Config {
	c := f.cfg
	if f.extraSANs != "" {
		c.TLS.ExtraSANs = strings.Split(f.extraSANs, ",")
	}
	if f.schedulerConfigs != "" {
		c.SchedulerConfigs = strings.Split(f.schedulerConfigs, ",")
	}
	if f.injectMap != "" {
		c.InjectConfig = types.NamespacedName{Namespace: c.Namespace, Name: f.injectMap}
	}
	return c
}
