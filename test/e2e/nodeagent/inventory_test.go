package nodeagent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/agent"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"github.com/railnet/railnet/nodeagent/inventory"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

const seedDevicePluginConfig = `{"periodicUpdateInterval": 300, "configList": [
 {"resourcePrefix": "spidernet.io", "resourceName": "shared_cx5_gpu1", "rdmaHcaMax": 100, "selectors": {"ifNames": ["enp11s0f0np0"]}},
 {"resourcePrefix": "spidernet.io", "resourceName": "shared_cx5_gpu4", "rdmaHcaMax": 100, "selectors": {"ifNames": ["enp14s0f0np0"]}}]}`

// startAgent runs the agent for node in-process over the 8-rail fixture and
// the netdevs of nn, until the test ends.
func startAgent(t *testing.T, node string, nn *discoverytest.Netns, metricsAddr string) {
	t.Helper()
	startAgentIn(t, node, nn, metricsAddr)
}

// startAgentIn is startAgent returning the agent's kubelet root, which holds
// device-plugins/.
func startAgentIn(t *testing.T, node string, nn *discoverytest.Netns, metricsAddr string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "agent") // short: unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(seedDevicePluginConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Options{
			NodeName: node, SysfsRoot: discoverytest.Fixture("rail8"), NetnsPath: nn.NS.Path(),
			KubeletRoot: dir, DevicePluginConfig: cfg, RestConfig: cluster.As("node-agent"),
			MetricsAddr: metricsAddr, RDMACounters: true, Heartbeat: 2 * time.Second,
			NetnsMode: func() (string, error) { return railnetv1.NetnsModeShared, nil },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return dir
}

// state is what the API server shows about the node.
type state struct {
	rn     *railnetv1.RDMANode
	labels map[string]string
}

// waitFor polls the API server until check passes (within is a hang
// guard) and returns how long that took.
func waitFor(t *testing.T, node string, within time.Duration, what string, check func(s state) error) time.Duration {
	t.Helper()
	start := time.Now()
	poll.Until(t, within, what, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rn := &railnetv1.RDMANode{}
		n := &corev1.Node{}
		if err := cluster.Client.Get(ctx, types.NamespacedName{Name: node}, rn); err != nil {
			return err
		}
		if err := cluster.Client.Get(ctx, types.NamespacedName{Name: node}, n); err != nil {
			return err
		}
		return check(state{rn: rn, labels: n.Labels})
	})
	return time.Since(start)
}

func railsLabels(s state, ready int, down int) error {
	if got := s.labels[railnetv1.LabelRailsReady]; got != fmt.Sprint(ready) {
		return fmt.Errorf("label %s=%q, want %d", railnetv1.LabelRailsReady, got, ready)
	}
	for i := int32(0); i < 8; i++ {
		want := railnetv1.RailUp
		if int(i) == down {
			want = railnetv1.RailDown
		}
		if got := s.labels[railnetv1.RailLabel(i)]; got != want {
			return fmt.Errorf("label %s=%q, want %q", railnetv1.RailLabel(i), got, want)
		}
	}
	return nil
}

func TestInventoryFollowsRail(t *testing.T) {
	const node = "gpu-node-1"
	cluster.CreateNode(t, ground.NodeSpec{Name: node, Labels: map[string]string{"railnet.io/rail.9": "up"}})
	nn := discoverytest.NewNetns(t, discoverytest.SeedNetdevs()...)
	metricsAddr := freeAddr(t)
	startAgent(t, node, nn, metricsAddr)

	took := waitFor(t, node, 30*time.Second, "RDMANode and labels appear", func(s state) error {
		st := s.rn.Status
		if st.RailsUp != 8 || st.RailsTotal != 8 || st.NetnsMode != "shared" || len(st.NICs) != 8 || len(st.GPUs) != 8 {
			return fmt.Errorf("status rails %d/%d mode %q nics %d gpus %d", st.RailsUp, st.RailsTotal, st.NetnsMode, len(st.NICs), len(st.GPUs))
		}
		if st.HeartbeatTime == nil || !meta.IsStatusConditionTrue(st.Conditions, railnetv1.ConditionRailsReady) ||
			!meta.IsStatusConditionTrue(st.Conditions, railnetv1.ConditionRDMASharedMode) {
			return fmt.Errorf("conditions %+v heartbeat %v", st.Conditions, st.HeartbeatTime)
		}
		nic := st.NICs[0]
		if nic.Netdev != "enp11s0f0np0" || nic.RDMADevice != "mlx5_0" || nic.GPUDistance != "PIX" || nic.Rail == nil || *nic.Rail != 0 ||
			len(nic.Resources) != 1 || nic.Resources[0] != "spidernet.io/shared_cx5_gpu1" {
			return fmt.Errorf("NIC 0 %+v", nic)
		}
		if len(s.rn.OwnerReferences) != 1 || s.rn.OwnerReferences[0].Name != node {
			return fmt.Errorf("owner %+v", s.rn.OwnerReferences)
		}
		if _, stale := s.labels["railnet.io/rail.9"]; stale {
			return fmt.Errorf("stale rail.9 label kept")
		}
		return railsLabels(s, 8, -1)
	})
	t.Logf("status and labels appeared in %v", took)
	checkTable(t, node, []string{"8", "8", "shared"})
	checkMetrics(t, metricsAddr, map[string]string{
		`railnet_nic_link_up{netdev="enp14s0f0np0",node="gpu-node-1",rail="3",rdma_device="mlx5_3"}`:                              "1",
		`railnet_rdma_port_xmit_data_bytes_total{netdev="enp11s0f0np0",node="gpu-node-1",port="1",rail="0",rdma_device="mlx5_0"}`: "3.950617284e+09",
		`railnet_rdma_gid_table_used{netdev="enp11s0f0np0",node="gpu-node-1",rail="0",rdma_device="mlx5_0"}`:                      "4",
		`railnet_deviceplugin_devices{health="healthy",node="gpu-node-1",resource="spidernet.io/shared_cx5_gpu4"}`:                "100",
	})
	checkQueriesOnScrape(t, metricsAddr)

	nn.SetUp(t, "enp14s0f0np0", false)
	took = waitFor(t, node, 10*time.Second, "rail 3 down", func(s state) error {
		st := s.rn.Status
		c := meta.FindStatusCondition(st.Conditions, railnetv1.ConditionRailsReady)
		if st.RailsUp != 7 || c == nil || c.Status != "False" ||
			!strings.Contains(c.Message, "7 of 8 rails are up; down: rail 3 (enp14s0f0np0): link down") {
			return fmt.Errorf("rails up %d, RailsReady %+v", st.RailsUp, c)
		}
		return railsLabels(s, 7, 3)
	})
	t.Logf("rail down shown in %v", took)
	checkTable(t, node, []string{"7", "8", "shared"})
	checkMetrics(t, metricsAddr, map[string]string{
		`railnet_nic_link_up{netdev="enp14s0f0np0",node="gpu-node-1",rail="3",rdma_device="mlx5_3"}`: "0",
	})

	nn.SetUp(t, "enp14s0f0np0", true)
	took = waitFor(t, node, 10*time.Second, "rail 3 up again", func(s state) error {
		if s.rn.Status.RailsUp != 8 || !meta.IsStatusConditionTrue(s.rn.Status.Conditions, railnetv1.ConditionRailsReady) {
			return fmt.Errorf("rails up %d", s.rn.Status.RailsUp)
		}
		return railsLabels(s, 8, -1)
	})
	t.Logf("rail up shown in %v", took)
	// kubectl describe node tells the story: rail 3 went down, then came back.
	events := waitNodeEvents(t, node, inventory.EventRailDown, inventory.EventRailUp)
	if msg := events[0].Message; !strings.HasPrefix(msg, "rail 3 (enp14s0f0np0) is down: link down; ") || events[0].Type != corev1.EventTypeWarning {
		t.Errorf("RailDown event: %s %q", events[0].Type, msg)
	}

	// Nothing changes now: the heartbeat alone moves the status forward.
	var first time.Time
	waitFor(t, node, 10*time.Second, "heartbeat recorded", func(s state) error {
		first = s.rn.Status.HeartbeatTime.Time
		return nil
	})
	waitFor(t, node, 10*time.Second, "heartbeat advances with an unchanged status", func(s state) error {
		if hb := s.rn.Status.HeartbeatTime.Time; !hb.After(first) {
			return fmt.Errorf("heartbeat still %v", hb)
		}
		return nil
	})
}
