// Command railnet-agent is the railnet node agent: RDMA discovery, RDMANode
// inventory and Node rail labels, the shared RDMA device plugin, metrics and
// the IPAM service. "railnet-agent install-cni --dest=DIR" copies the CNI
// plugins shipped next to it into DIR; "railnet-agent nccl-env --pod-uid=UID"
// tells which GID NCCL uses on each of a pod's rails.
package main

import (
	"context"
	"os"

	"github.com/railnet/railnet/api/cmdline"
)

func main() {
	cmdline.Main(command.Name, func(ctx context.Context) error { return dispatch(ctx, os.Args[1:]) })
}
