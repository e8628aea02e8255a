package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/minikubelet"
	"github.com/railnet/railnet/test/poll"
)

// TestAllocatableFollowsRail runs the agent's device plugin against the
// mini-kubelet: the Node's allocatable shows the seed resources, and a rail
// NIC going down takes its resource's allocatable to 0 within 10 s.
func TestAllocatableFollowsRail(t *testing.T) {
	const node = "gpu-node-4"
	cluster.CreateNode(t, ground.NodeSpec{Name: node})
	nn := discoverytest.NewNetns(t, discoverytest.SeedNetdevs()...)
	dir := startAgentIn(t, node, nn, "")

	empty := t.TempDir()
	k, err := minikubelet.New(minikubelet.Config{
		NodeName: node, REST: cluster.Config, // the kubelet's identity, not the agent's
		PluginDir: filepath.Join(dir, "device-plugins"),
		NodeNetns: nn.NS.Path(), CNIConfDir: empty, CNIBinDirs: []string{empty}, CNICacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("mini-kubelet: %v", err)
		}
	})

	gpu1, gpu4 := corev1.ResourceName("spidernet.io/shared_cx5_gpu1"), corev1.ResourceName("spidernet.io/shared_cx5_gpu4")
	waitAllocatable := func(what string, want map[corev1.ResourceName]int64) time.Duration {
		t.Helper()
		start := time.Now()
		poll.Until(t, 10*time.Second, what, func() error {
			n := &corev1.Node{}
			if err := cluster.Client.Get(context.Background(), types.NamespacedName{Name: node}, n); err != nil {
				return err
			}
			var wrong []string
			for r, v := range want {
				if q := n.Status.Allocatable[r]; q.Value() != v {
					wrong = append(wrong, fmt.Sprintf("%s=%s (want %d)", r, q.String(), v))
				}
			}
			if len(wrong) > 0 {
				return errors.New(strings.Join(wrong, " "))
			}
			return nil
		})
		return time.Since(start)
	}
	waitAllocatable("seed resources allocatable", map[corev1.ResourceName]int64{gpu1: 100, gpu4: 100})
	nn.SetUp(t, "enp14s0f0np0", false)
	took := waitAllocatable("gpu4 unallocatable after its NIC went down", map[corev1.ResourceName]int64{gpu1: 100, gpu4: 0})
	t.Logf("link down → allocatable 0 in %v", took)
	nn.SetUp(t, "enp14s0f0np0", true)
	took = waitAllocatable("gpu4 allocatable again", map[corev1.ResourceName]int64{gpu1: 100, gpu4: 100})
	t.Logf("link up → allocatable 100 in %v", took)
}
