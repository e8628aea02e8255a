// Command cluster starts, stops and reports a local railnet control plane
// (etcd, kube-apiserver, kube-scheduler, kube-controller-manager, railnet's
// CRDs) for people and scripts:
//
//	go run ./test/cluster up      # prints: export KUBECONFIG=...
//	go run ./test/cluster status
//	go run ./test/cluster down
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/railnet/railnet/api/cmdline"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cluster up|down|status")
		os.Exit(2)
	}
	cmdline.Main("cluster", func(ctx context.Context) error { return run(ctx, os.Args[1]) })
}
