package main

import (
	"flag"
	"strings"

	"github.com/railnet/railnet/api/cmdline"
	"github.com/railnet/railnet/api/railsdra"
	"github.com/railnet/railnet/certs/serving"
	"github.com/railnet/railnet/webhook/admission"
)

// command is railnet-webhook as --help shows it.
var command = cmdline.Command{Name: "railnet-webhook",
	Description: "railnet's admission webhook (RDMA injection into pods, SpiderIPPool and SpiderMultusConfig defaulting and validation) and its NetworkAttachmentDefinition controller",
	Subcommands: []string{"uninstall: the chart's post-delete cleanup of what railnet made at run time"}}

type flags struct {
	listen, metricsListen, configMap, webhookConfig, leaderElectionID string
	gpuClass, railClass                                               string
	leaderElect, dra                                                  bool
	reviewBudget                                                      int64
	certs                                                             serving.Config
}

// bindFlags registers the webhook's flags on fs (which also holds
// controller-runtime's --kubeconfig).
func bindFlags(fs *flag.FlagSet) *flags {
	f := &flags{}
	fs.StringVar(&f.listen, "listen", ":9443", "HTTPS address of the admission, /healthz, /readyz and /metrics endpoints")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "plain-HTTP address for /metrics as well (empty: off)")
	fs.StringVar(&f.certs.Namespace, "namespace", "railnet", "namespace of the ConfigMap, the leader Lease and the CA Secret")
	fs.StringVar(&f.configMap, "config-map", "railnet-config", "ConfigMap whose conf.yaml holds podResourceInject, read live")
	fs.StringVar(&f.certs.CertFile, "tls-cert-file", "", "serving certificate (PEM, reloaded on change); empty: self-managed CA")
	fs.StringVar(&f.certs.KeyFile, "tls-key-file", "", "serving key (PEM)")
	fs.StringVar(&f.certs.CASecret, "ca-secret", "", "self-managed mode: Secret holding the CA")
	fs.StringVar(&f.certs.Service, "service", "railnet-webhook", "self-managed mode: Service whose DNS names the certificate carries")
	fs.Func("extra-sans", "self-managed mode: comma-separated extra IPs / DNS names for the certificate (e.g. 127.0.0.1 when registered by URL)", func(v string) error {
		f.certs.ExtraSANs = append(f.certs.ExtraSANs, strings.Split(v, ",")...)
		return nil
	})
	fs.DurationVar(&f.certs.CALifetime, "ca-lifetime", 0, "self-managed mode: CA validity (0: default)")
	fs.DurationVar(&f.certs.CAOverlap, "ca-overlap", 0, "self-managed mode: how long old and new CA are trusted together in a rotation (0: default 24h)")
	fs.DurationVar(&f.certs.ServingLifetime, "serving-lifetime", 0, "self-managed mode: serving certificate validity (0: default)")
	fs.StringVar(&f.webhookConfig, "webhook-configuration", "railnet-webhook", "self-managed mode: Mutating/ValidatingWebhookConfiguration whose caBundle is kept current")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "run the NAD and namespace controllers on one replica only (Lease in --namespace)")
	fs.StringVar(&f.leaderElectionID, "leader-election-id", "railnet-webhook", "name of that Lease")
	fs.BoolVar(&f.dra, "dra", false, "DRA mode (charts/railnet/docs/dra.md): serve inject groups whose SpiderMultusConfigs carry railnet.io/inject-mode=dra with a ResourceClaim pairing GPUs and rails (needs resource.k8s.io/v1)")
	fs.StringVar(&f.gpuClass, "dra-gpu-device-class", railsdra.GPUDeviceClassName, "DRA mode: the GPU DeviceClass of the claim templates railnet keeps")
	fs.StringVar(&f.railClass, "dra-rail-device-class", railsdra.DeviceClassName, "DRA mode: the rails DeviceClass of the claim templates (the chart's dra.deviceClassName)")
	fs.Int64Var(&f.reviewBudget, "review-budget-bytes", admission.DefaultBudgetBytes,
		"admission review bodies served at once, in bytes; more is answered 429 with Retry-After, which the apiserver retries (at least the 7 MiB of one review; decoding takes ~3x this in heap)")
	return f
}

// kubeconfig is the value of controller-runtime's --kubeconfig flag on fs.
func kubeconfig(fs *flag.FlagSet) string {
	if f := fs.Lookup("kubeconfig"); f != nil {
		return f.Value.String()
	}
	return ""
}
