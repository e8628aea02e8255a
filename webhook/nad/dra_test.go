package nad

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/api/golden"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
)

func readConfigs(t *testing.T, path string) []*spiderv2beta1.SpiderMultusConfig {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*spiderv2beta1.SpiderMultusConfig
	for {
		smc := &spiderv2beta1.SpiderMultusConfig{}
		if err := dec.Decode(smc); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, smc)
	}
}

func specs(cs []*spiderv2beta1.SpiderMultusConfig) []*spiderv2beta1.MultusCNIConfigSpec {
	out := make([]*spiderv2beta1.MultusCNIConfigSpec, len(cs))
	for i, c := range cs {
		out[i] = &c.Spec
	}
	return out
}

// TestRenderDRAGolden renders the DRA-mode group of every
// testdata/*.smcs.yaml (the cluster's SpiderMultusConfigs) and compares it
// with the .nad.yaml next to it: rail indexes count the cluster's masters.
func TestRenderDRAGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.smcs.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".smcs.yaml")
		t.Run(name, func(t *testing.T) {
			all := readConfigs(t, in)
			var members []*spiderv2beta1.SpiderMultusConfig
			group := ""
			for _, c := range all {
				if c.Annotations[drainject.ModeAnnotation] == drainject.ModeDRA {
					members = append(members, c)
					group = c.Annotations[spiderv2beta1.AnnotationRDMAResourceInject]
				}
			}
			got, err := RenderDRA(group, members, spiderv2beta1.RailMasters(specs(all)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := yaml.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", name+".nad.yaml"), out)
		})
	}
}

func TestRenderDRARefuses(t *testing.T) {
	all := readConfigs(t, "testdata/dra-seed.smcs.yaml")
	masters := spiderv2beta1.RailMasters(specs(all))
	tests := []struct {
		name    string
		members func() []*spiderv2beta1.SpiderMultusConfig
		want    string
	}{
		{"two namespaces", func() []*spiderv2beta1.SpiderMultusConfig {
			c := all[1].DeepCopy()
			c.Namespace = "other"
			return []*spiderv2beta1.SpiderMultusConfig{all[0], c}
		}, `inject group "rdma-network" (DRA mode) has SpiderMultusConfigs in namespaces spiderpool and other; its one network lives beside them: keep them in one namespace`},
		{"two configs on one rail", func() []*spiderv2beta1.SpiderMultusConfig {
			c := all[0].DeepCopy()
			c.Name = "gpu1-again"
			return []*spiderv2beta1.SpiderMultusConfig{all[0], c}
		}, `SpiderMultusConfigs spiderpool/gpu1-again and spiderpool/gpu1-macvlan of inject group "rdma-network" (DRA mode) are both on rail 0 (master enp11s0f0np0); keep one config per rail in the group`},
		{"no master", func() []*spiderv2beta1.SpiderMultusConfig {
			c := all[0].DeepCopy()
			c.Spec.CNIType = ptrTo(spiderv2beta1.CNITypeSRIOV)
			c.Spec.SRIOV = &spiderv2beta1.SRIOVConfig{ResourceName: "r"}
			return []*spiderv2beta1.SpiderMultusConfig{c}
		}, `SpiderMultusConfig spiderpool/gpu1-macvlan of inject group "rdma-network" (DRA mode) names no rail master; DRA mode makes each claimed rail from the macvlan or ipvlan config on its NIC: set spec.macvlan.master`},
		{"empty", func() []*spiderv2beta1.SpiderMultusConfig { return nil }, `inject group "rdma-network" has no SpiderMultusConfig`},
	}
	for _, tt := range tests {
		if _, err := RenderDRA("rdma-network", tt.members(), masters); err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v\nwant %s", tt.name, err, tt.want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
