package main

import (
	"context"
	"flag"

	"k8s.io/klog/v2"

	"github.com/railnet/railnet/api/cmdline"
)

func main() {
	klog.InitFlags(nil)
	f := bindFlags(flag.CommandLine)
	flag.Parse() // --kubeconfig comes from controller-runtime's config package
	cmdline.Main("railnet extender", func(ctx context.Context) error { return run(ctx, f.config()) })
}
