package main

import (
	"context"
	"fmt"
	"net"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/restconfig"
	"github.com/railnet/railnet/webhook/app"
)

// run serves the webhook with the flags' values until ctx ends.
func run(ctx context.Context, f flags, kubeconfig string) error {
	cfg, err := restconfig.Load(kubeconfig) // --kubeconfig, $KUBECONFIG, in-cluster or ~/.kube/config
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
