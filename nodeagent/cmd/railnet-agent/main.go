// Command railnet-agent is the railnet node agent: RDMA discovery, RDMANode
// inventory and Node rail labels, the shared RDMA device plugin, metrics and
// the IPAM service. "railnet-agent install-cni --dest=DIR" copies the CNI
// plugins shipped next to it into DIR; "railnet-agent nccl-env --pod-uid=UID"
// tells which GID NCCL uses on each of a pod's rails.
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "install-cni" {
		err = installCNI(os.Args[2:])
	} else if len(os.Args) > 1 && os.Args[1] == "nccl-env" {
		err = ncclEnv(os.Args[2:])
	} else {
		fs := flag.NewFlagSet("railnet-agent", flag.ExitOnError)
		f := bindFlags(fs)
		klog.InitFlags(fs)
		_ = fs.Parse(os.Args[1:])
		err = run(ctx, f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "railnet-agent:", err)
		os.Exit(1)
	}
}
