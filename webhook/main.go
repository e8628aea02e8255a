package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
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
