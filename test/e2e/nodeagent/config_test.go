package nodeagent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"github.com/railnet/railnet/nodeagent/inventory"
	"github.com/railnet/railnet/test/ground"
)

// A hot-reloaded device plugin config the agent cannot serve (2^62 shares)
// keeps the last good one in force, shows in the RDMANode's ConfigValid
// condition and railnet_agent_config_valid, and clears once fixed.
func TestRefusedConfigKeepsTheLastGoodOne(t *testing.T) {
	const node = "gpu-node-config"
	cluster.CreateNode(t, ground.NodeSpec{Name: node})
	nn := discoverytest.NewNetns(t, discoverytest.SeedNetdevs()...)
	metricsAddr := freeAddr(t)
	dir := startAgentIn(t, node, nn, metricsAddr)
	cfg := filepath.Join(dir, "config.json")
	valid := func(status, reason string) func(s state) error {
		return func(s state) error {
			c := meta.FindStatusCondition(s.rn.Status.Conditions, railnetv1.ConditionConfigValid)
			if c == nil || string(c.Status) != status || c.Reason != reason {
				return fmt.Errorf("ConfigValid %+v, want %s/%s", c, status, reason)
			}
			return nil
		}
	}
	waitFor(t, node, 30*time.Second, "ConfigValid True", valid("True", inventory.ReasonConfigServed))
	checkMetrics(t, metricsAddr, map[string]string{`railnet_agent_config_valid{input="device_plugin",node="gpu-node-config"}`: "1"})

	bad := strings.Replace(seedDevicePluginConfig, `"rdmaHcaMax": 100`, `"rdmaHcaMax": 4611686018427387904`, 1)
	if err := os.WriteFile(cfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, node, 15*time.Second, "ConfigValid False naming the refusal", func(s state) error {
		if err := valid("False", inventory.ReasonConfigRefused)(s); err != nil {
			return err
		}
		c := meta.FindStatusCondition(s.rn.Status.Conditions, railnetv1.ConditionConfigValid)
		for _, want := range []string{"device plugin config " + cfg + " refused", "rdmaHcaMax 4611686018427387904: at most",
			"the last good config stays in force"} {
			if !strings.Contains(c.Message, want) {
				return fmt.Errorf("message %q lacks %q", c.Message, want)
			}
		}
		// The last good config still serves rail 0.
		if nics := s.rn.Status.NICs; len(nics) == 0 || !slices.Contains(nics[0].Resources, "spidernet.io/shared_cx5_gpu1") {
			return fmt.Errorf("rail 0 resources %v", nics)
		}
		return nil
	})
	checkMetrics(t, metricsAddr, map[string]string{
		`railnet_agent_config_valid{input="device_plugin",node="gpu-node-config"}`:                                      "0",
		`railnet_deviceplugin_devices{health="healthy",node="gpu-node-config",resource="spidernet.io/shared_cx5_gpu1"}`: "100",
	})

	if err := os.WriteFile(cfg, []byte(seedDevicePluginConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, node, 15*time.Second, "ConfigValid True again", valid("True", inventory.ReasonConfigServed))
	checkMetrics(t, metricsAddr, map[string]string{`railnet_agent_config_valid{input="device_plugin",node="gpu-node-config"}`: "1"})
}
