package ipam_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/cniconf"
	"github.com/railnet/railnet/nodeagent/ipam/ipamwire"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// startAgent runs the IPAM of a node agent in a child process (this test
// binary, see TestMain) and returns it once its socket answers.
func startAgent(ctx context.Context, t *testing.T, node, sock string, grace time.Duration) *exec.Cmd {
	t.Helper()
	os.Remove(sock)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %s %s", agentEnv, cluster.KubeconfigAs("node-agent"), node, sock, grace))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitSocket(t, sock)
	return cmd
}

// An agent SIGKILLed while ADDs are in flight leaves allocations no DEL will
// ever release; after the pods are gone, the restarted agent's collector
// frees every one of them: no address leaks.
func TestKilledAgentLeavesNoLeak(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const pods = 40
	pool := createPool(ctx, t, "kill-pool", "172.16.40.0/24", []string{"172.16.40.1-172.16.40.250"}, "")
	cluster.CreateNode(t, ground.NodeSpec{Name: "kill-node"})
	cluster.EnsureNamespace(t, "kill")
	var created []*corev1.Pod
	for i := range pods {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("trainer-%d", i), Namespace: "kill"},
			Spec: corev1.PodSpec{NodeName: "kill-node", Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		if err := cluster.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		created = append(created, p)
	}
	dir, err := os.MkdirTemp("", "ipam-kill-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "ipam.sock")
	agent := startAgent(ctx, t, "kill-node", sock, time.Hour)

	// ADDs in flight; the agent is killed after the fifth success.
	c := ipamwire.NewClient(sock)
	var ok atomic.Int32
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for _, p := range created {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Allocate(ctx, ipamwire.Request{Pools: cniconf.Pools{IPv4: []string{pool.Name}},
				PodNamespace: p.Namespace, PodName: p.Name, PodUID: string(p.UID), ContainerID: "sandbox", IfName: "net1"})
			if err == nil && ok.Add(1) == 5 {
				once.Do(func() { _ = agent.Process.Signal(syscall.SIGKILL); close(killed) })
			}
		}()
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d ADDs succeeded before the kill", ok.Load())
	}
	_ = agent.Wait()
	leaked := allocations(ctx, t, pool.Name)
	if int32(len(leaked)) < ok.Load() {
		t.Fatalf("%d ADDs succeeded but only %d allocations exist", ok.Load(), len(leaked))
	}
	t.Logf("killed the agent with %d ADDs answered and %d allocations recorded", ok.Load(), len(leaked))

	// The pods end without a DEL ever reaching the dead agent.
	zero := int64(0)
	for _, p := range created {
		if err := cluster.Client.Delete(ctx, p, &client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
	}
	startAgent(ctx, t, "kill-node", sock, time.Nanosecond)
	poll.Until(t, 2*time.Minute, "the restarted agent's collector releasing every address", func() error {
		if left := allocations(ctx, t, pool.Name); len(left) > 0 {
			return fmt.Errorf("%d addresses allocated: %v", len(left), left)
		}
		return nil
	})
}
