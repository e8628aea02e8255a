package nad

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/api/golden"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// TestRenderGolden renders every testdata/*.smc.yaml and compares it with the
// .nad.yaml next to it.
func TestRenderGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.smc.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".smc.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var smc spiderv2beta1.SpiderMultusConfig
			if err := yaml.UnmarshalStrict(data, &smc); err != nil {
				t.Fatal(err)
			}
			nad, err := Render(&smc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := yaml.Marshal(nad)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", name+".nad.yaml"), got)
		})
	}
}

func TestRenderRefuses(t *testing.T) {
	tests := []struct{ spec, want string }{
		{`{cniType: sriov}`, "SpiderMultusConfig ns/x: cniType sriov has no matching sub-config"},
		{`{cniType: macvlan, macvlan: {master: []}}`, "SpiderMultusConfig ns/x: cniType macvlan has no matching sub-config"},
		{`{cniType: bridge}`, `SpiderMultusConfig ns/x: cniType "bridge" cannot be rendered`},
		// Configs stored before admission refused bond and vlanID: no NAD
		// on a bond0.100 railnet never creates.
		{`{cniType: macvlan, macvlan: {master: [eth1, eth2], bond: {name: bond0, mode: 1}, vlanID: 100, ippools: {ipv4: [v4]}}}`,
			"SpiderMultusConfig ns/x: spec.macvlan.bond is not supported: railnet does not create bond interfaces; create the bond on every node " +
				"(e.g. with NetworkManager or systemd-networkd), name it in spec.macvlan.master and remove spec.macvlan.bond; " +
				"spec.macvlan.vlanID 100 is not supported: railnet does not create VLAN interfaces; create the VLAN interface on every node " +
				"(e.g. eth1.100), name it in spec.macvlan.master and remove spec.macvlan.vlanID"},
		{`{cniType: ipvlan, ipvlan: {master: [enp11s0f0np0], vlanID: 7}}`,
			"SpiderMultusConfig ns/x: spec.ipvlan.vlanID 7 is not supported: railnet does not create VLAN interfaces; create the VLAN interface on every node " +
				"(e.g. enp11s0f0np0.7), name it in spec.ipvlan.master and remove spec.ipvlan.vlanID"},
	}
	for _, tt := range tests {
		var smc spiderv2beta1.SpiderMultusConfig
		smc.Namespace, smc.Name = "ns", "x"
		if err := yaml.UnmarshalStrict([]byte(tt.spec), &smc.Spec); err != nil {
			t.Fatal(err)
		}
		if _, err := Render(&smc); err == nil || err.Error() != tt.want {
			t.Errorf("Render(%s) error = %v, want %q", tt.spec, err, tt.want)
		}
	}
}
