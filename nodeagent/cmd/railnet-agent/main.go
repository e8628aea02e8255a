// Command railnet-agent is the railnet node agent: RDMA discovery, RDMANode
// inventory and Node rail labels, the shared RDMA device plugin, metrics and
// the IPAM service. "railnet-agent install-cni --dest=DIR" copies the CNI
// plugins shipped next to it into DIR; "railnet-agent nccl-env --pod-uid=UID"
// tells which GID NCCL uses on each of a pod's rails.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "railnet-agent:", err)
		os.Exit(1)
	}
}
