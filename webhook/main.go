package main

import (
	"context"
	"flag"
	"os"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/railnet/railnet/api/cmdline"
)

func main() {
	klog.InitFlags(nil)
	ctrl.SetLogger(klog.Background())
	if len(os.Args) > 1 && os.Args[1] == "uninstall" {
		cmdline.Main("railnet-webhook uninstall", func(ctx context.Context) error { return runUninstall(ctx, os.Args[2:]) })
		return
	}
	f := bindFlags(flag.CommandLine)
	version := command.Setup(flag.CommandLine)
	if done, _ := command.Parse(flag.CommandLine, version, os.Args[1:]); done { // ExitOnError: a bad flag exits 2
		return
	}
	cmdline.Main(command.Name, func(ctx context.Context) error { return run(ctx, *f, kubeconfig(flag.CommandLine)) })
}
