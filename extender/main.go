package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
)

func main() {
	klog.InitFlags(nil)
	f := bindFlags(flag.CommandLine)
	flag.Parse() // --kubeconfig comes from controller-runtime's config package
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f.config()); err != nil {
		fmt.Fprintln(os.Stderr, "railnet extender:", err)
		os.Exit(1)
	}
}
