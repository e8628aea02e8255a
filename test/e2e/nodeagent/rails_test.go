package nodeagent

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"github.com/railnet/railnet/test/ground"
)

// TestRailsFromSpiderMultusConfigs: with SpiderMultusConfigs naming rails
// enp12s0f0np0..enp18s0f0np0 only, those NICs are rails 0..6 and
// enp11s0f0np0 is not a rail.
func TestRailsFromSpiderMultusConfigs(t *testing.T) {
	const node, ns = "gpu-node-2", "rails-from-smc"
	cluster.EnsureNamespace(t, ns)
	ctx := context.Background()
	for i := 2; i <= 8; i++ {
		smc := &spiderv2beta1.SpiderMultusConfig{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("gpu%d-macvlan", i), Namespace: ns},
			Spec: spiderv2beta1.MultusCNIConfigSpec{Macvlan: &spiderv2beta1.MacvlanConfig{
				Master: []string{fmt.Sprintf("enp%ds0f0np0", 10+i)}}},
		}
		if err := cluster.Client.Create(ctx, smc); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), smc) })
	}
	cluster.CreateNode(t, ground.NodeSpec{Name: node})
	nn := discoverytest.NewNetns(t, discoverytest.SeedNetdevs()...)
	startAgent(t, node, nn, "")
	waitFor(t, node, 30*time.Second, "rails from SpiderMultusConfig masters", func(s state) error {
		st := s.rn.Status
		if st.RailsTotal != 7 || st.RailsUp != 7 {
			return fmt.Errorf("rails %d/%d, want 7/7", st.RailsUp, st.RailsTotal)
		}
		for _, n := range st.NICs {
			switch {
			case n.Netdev == "enp11s0f0np0" && n.Rail != nil:
				return fmt.Errorf("enp11s0f0np0 has rail %d, want none", *n.Rail)
			case n.Netdev == "enp12s0f0np0" && (n.Rail == nil || *n.Rail != 0):
				return fmt.Errorf("enp12s0f0np0 rail %v, want 0", n.Rail)
			case n.Netdev == "enp18s0f0np0" && (n.Rail == nil || *n.Rail != 6):
				return fmt.Errorf("enp18s0f0np0 rail %v, want 6", n.Rail)
			}
		}
		if got := s.labels["railnet.io/rail.6"]; got != "up" {
			return fmt.Errorf("rail.6 label %q", got)
		}
		if _, ok := s.labels["railnet.io/rail.7"]; ok {
			return fmt.Errorf("rail.7 label present")
		}
		return nil
	})
}
