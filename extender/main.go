package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/railnet/railnet/extender/app"
)

func main() {
	var cfg app.Config
	klog.InitFlags(nil)
	flag.StringVar(&cfg.HTTPAddr, "http-address", ":8880", "address for plain HTTP (empty: off)")
	flag.StringVar(&cfg.HTTPSAddr, "https-address", "", "address for HTTPS (needs the certificate flags)")
	flag.StringVar(&cfg.CertFile, "tls-cert-file", "", "serving certificate (PEM), reloaded when it changes")
	flag.StringVar(&cfg.KeyFile, "tls-key-file", "", "serving key (PEM)")
	flag.DurationVar(&cfg.HeartbeatTTL, "heartbeat-ttl", 0, "oldest RDMANode heartbeat accepted (default 2m)")
	flag.DurationVar(&cfg.InFlightTTL, "inflight-ttl", 0, "how long a pod passed for one node holds its slots and addresses before the cache shows it (default 30s)")
	flag.StringVar(&cfg.Topology.BlockKey, "block-label", "", "node label of the network block (default network.topology.nvidia.com/block)")
	flag.StringVar(&cfg.Topology.SpineKey, "spine-label", "", "node label of the spine (default network.topology.nvidia.com/spine)")
	flag.Int64Var(&cfg.MaxBodyBytes, "max-request-bytes", 0, "largest ExtenderArgs accepted (default 32 MiB)")
	flag.Parse() // --kubeconfig comes from controller-runtime's config package
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "railnet extender:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg app.Config) error {
	ctrllog.SetLogger(klog.NewKlogr())
	rc, err := config.GetConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return app.Run(klog.NewContext(ctx, klog.Background()), rc, cfg)
}
