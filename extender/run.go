package main

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/railnet/railnet/extender/app"
)

// run serves the extender with cfg until ctx ends.
func run(ctx context.Context, cfg app.Config) error {
	ctrllog.SetLogger(klog.NewKlogr())
	rc, err := config.GetConfig() // --kubeconfig, $KUBECONFIG, in-cluster or ~/.kube/config
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return app.Run(klog.NewContext(ctx, klog.Background()), rc, cfg)
}
