package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/webhook/app"
)

type flags struct {
	listen, metricsListen, certFile, keyFile, namespace, configMap string
	leaderElectionID                                               string
	leaderElect                                                    bool
}

func main() {
	klog.InitFlags(nil)
	ctrl.SetLogger(klog.Background())
	var f flags
	flag.StringVar(&f.listen, "listen", ":9443", "HTTPS address of the admission, /healthz, /readyz and /metrics endpoints")
	flag.StringVar(&f.metricsListen, "metrics-listen", "", "plain-HTTP address for /metrics as well (empty: off)")
	flag.StringVar(&f.certFile, "tls-cert-file", "/tls/tls.crt", "serving certificate (PEM); reloaded when the file changes")
	flag.StringVar(&f.keyFile, "tls-key-file", "/tls/tls.key", "serving key (PEM)")
	flag.StringVar(&f.namespace, "namespace", "railnet", "namespace of the ConfigMap")
	flag.StringVar(&f.configMap, "config-map", "railnet-config", "ConfigMap whose conf.yaml holds podResourceInject, read live")
	flag.BoolVar(&f.leaderElect, "leader-elect", true, "run the NAD and namespace controllers on one replica only (Lease in --namespace)")
	flag.StringVar(&f.leaderElectionID, "leader-election-id", "railnet-webhook", "name of that Lease")
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
	o := app.Options{Config: cfg, CertFile: f.certFile, KeyFile: f.keyFile,
		ConfigMap: client.ObjectKey{Namespace: f.namespace, Name: f.configMap}, LeaderElection: f.leaderElect, LeaderElectionID: f.leaderElectionID}
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
