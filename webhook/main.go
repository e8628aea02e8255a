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

	"github.com/railnet/railnet/api/cmdline"
	"github.com/railnet/railnet/webhook/app"
)

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
	f := bindFlags(flag.CommandLine)
	version := command.Setup(flag.CommandLine)
	if done, _ := command.Parse(flag.CommandLine, version, os.Args[1:]); done { // ExitOnError: a bad flag exits 2
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *f, kubeconfig(flag.CommandLine)); err != nil {
		fmt.Fprintln(os.Stderr, "railnet-webhook:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags, kubeconfig string) error {
	cfg, err := cmdline.RestConfig(kubeconfig) // --kubeconfig, $KUBECONFIG, in-cluster or ~/.kube/config
	if err != nil {
		return err
	}
	f.certs.MutatingWebhooks = []string{f.webhookConfig}
	f.certs.ValidatingWebhooks = []string{f.webhookConfig}
	o := app.Options{Config: cfg, Certs: f.certs, LeaderElection: f.leaderElect, LeaderElectionID: f.leaderElectionID,
		ConfigMap: client.ObjectKey{Namespace: f.certs.Namespace, Name: f.configMap}, ReviewBudgetBytes: f.reviewBudget,
		DRA: f.dra, GPUDeviceClass: f.gpuClass, RailDeviceClass: f.railClass}
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
