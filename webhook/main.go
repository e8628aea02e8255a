package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/serving"
	"github.com/railnet/railnet/webhook/admission"
	"github.com/railnet/railnet/webhook/app"
)

type flags struct {
	listen, metricsListen, configMap, webhookConfig, leaderElectionID string
	leaderElect                                                       bool
	reviewBudget                                                      int64
	certs                                                             serving.Config
}

func main() {
	klog.InitFlags(nil)
	ctrl.SetLogger(klog.Background())
	if len(os.Args) > 1 && os.Args[1] == "uninstall" {
		if err := runUninstall(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "railnet-webhook uninstall:", err)
			os.Exit(1)
		}
		return
	}
	var f flags
	flag.StringVar(&f.listen, "listen", ":9443", "HTTPS address of the admission, /healthz, /readyz and /metrics endpoints")
	flag.StringVar(&f.metricsListen, "metrics-listen", "", "plain-HTTP address for /metrics as well (empty: off)")
	flag.StringVar(&f.certs.Namespace, "namespace", "railnet", "namespace of the ConfigMap, the leader Lease and the CA Secret")
	flag.StringVar(&f.configMap, "config-map", "railnet-config", "ConfigMap whose conf.yaml holds podResourceInject, read live")
	flag.StringVar(&f.certs.CertFile, "tls-cert-file", "", "serving certificate (PEM, reloaded on change); empty: self-managed CA")
	flag.StringVar(&f.certs.KeyFile, "tls-key-file", "", "serving key (PEM)")
	flag.StringVar(&f.certs.CASecret, "ca-secret", "", "self-managed mode: Secret holding the CA")
	flag.StringVar(&f.certs.Service, "service", "railnet-webhook", "self-managed mode: Service whose DNS names the certificate carries")
	flag.Func("extra-sans", "self-managed mode: comma-separated extra IPs / DNS names for the certificate (e.g. 127.0.0.1 when registered by URL)", func(v string) error {
		f.certs.ExtraSANs = append(f.certs.ExtraSANs, strings.Split(v, ",")...)
		return nil
	})
	flag.DurationVar(&f.certs.CALifetime, "ca-lifetime", 0, "self-managed mode: CA validity (0: default)")
	flag.DurationVar(&f.certs.CAOverlap, "ca-overlap", 0, "self-managed mode: how long old and new CA are trusted together in a rotation (0: default 24h)")
	flag.DurationVar(&f.certs.ServingLifetime, "serving-lifetime", 0, "self-managed mode: serving certificate validity (0: default)")
	flag.StringVar(&f.webhookConfig, "webhook-configuration", "railnet-webhook", "self-managed mode: Mutating/ValidatingWebhookConfiguration whose caBundle is kept current")
	flag.BoolVar(&f.leaderElect, "leader-elect", true, "run the NAD and namespace controllers on one replica only (Lease in --namespace)")
	flag.StringVar(&f.leaderElectionID, "leader-election-id", "railnet-webhook", "name of that Lease")
	flag.Int64Var(&f.reviewBudget, "review-budget-bytes", admission.DefaultBudgetBytes,
		"admission review bodies served at once, in bytes; more is answered 429 with Retry-After, which the apiserver retries (at least the 7 MiB of one review; decoding takes ~3x this in heap)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "railnet-webhook:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	cfg, err := ctrl.GetConfig() // --kubeconfig, $KUBECONFIG or in-cluster
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	f.certs.MutatingWebhooks = []string{f.webhookConfig}
	f.certs.ValidatingWebhooks = []string{f.webhookConfig}
	o := app.Options{Config: cfg, Certs: f.certs, LeaderElection: f.leaderElect, LeaderElectionID: f.leaderElectionID,
		ConfigMap: client.ObjectKey{Namespace: f.certs.Namespace, Name: f.configMap}, ReviewBudgetBytes: f.reviewBudget}
	if o.Listener, err = net.Listen("tcp", f.listen); err != nil {
		return fmt.Errorf("listen on %s: %w", f.listen, err)
	}
	if f.metricsListen != "" {
		if o.MetricsListener, err = net.Listen("tcp", f.metricsListen); err != nil {
			return fmt.Errorf("listen on %s: %w", f.metricsListen, err)
		}
	}
	return app.Run(ctx, o)
}
