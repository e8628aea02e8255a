package ipam_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/railnet/railnet/nodeagent/ipam"
	"github.com/railnet/railnet/test/ground"
)

var cluster *ground.Cluster

func TestMain(m *testing.M) {
	if os.Getenv(agentEnv) != "" {
		os.Exit(runAgent())
	}
	ground.RunMain(m, ground.Options{NoControllerManager: true, RunAs: []string{"node-agent"}}, &cluster)
}

// agentEnv makes the test binary act as a node agent's IPAM (NodeService)
// for TestKilledAgentLeavesNoLeak, which SIGKILLs it mid-ADD. Its value is
// "<kubeconfig> <node> <socket> <gc grace>".
const agentEnv = "RAILNET_TEST_IPAM_AGENT"

func runAgent() int {
	var kubeconfig, node, socket, grace string
	if _, err := fmt.Sscanf(os.Getenv(agentEnv), "%s %s %s %s", &kubeconfig, &node, &socket, &grace); err != nil {
		fmt.Fprintln(os.Stderr, "agent args:", err)
		return 2
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	g, err := time.ParseDuration(grace)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := (&ipam.NodeService{Config: cfg, Node: node, Socket: socket, GCGrace: g}).Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
