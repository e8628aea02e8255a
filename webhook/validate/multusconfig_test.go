package validate

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func smcFrom(t *testing.T, ann map[string]string, spec string) *spiderv2beta1.SpiderMultusConfig {
	t.Helper()
	s := &spiderv2beta1.SpiderMultusConfig{}
	s.Namespace, s.Name, s.Annotations = "spiderpool", "gpu1-macvlan", ann
	if err := yaml.UnmarshalStrict([]byte(spec), &s.Spec); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefaultMultusConfig(t *testing.T) {
	tests := []struct {
		name         string
		spec         string
		wantSpec     string
		wantWarnings []string
		wantErr      string
	}{
		{
			name:         "seed step 3: spec.rdmaResourceName moves into macvlan",
			spec:         `{cniType: macvlan, rdmaResourceName: spidernet.io/shared_cx5_gpu1, macvlan: {master: [enp11s0f0np0], ippools: {ipv4: [gpu1-net11]}}}`,
			wantSpec:     `{cniType: macvlan, macvlan: {master: [enp11s0f0np0], rdmaResourceName: spidernet.io/shared_cx5_gpu1, ippools: {ipv4: [gpu1-net11]}}}`,
			wantWarnings: []string{"SpiderMultusConfig spiderpool/gpu1-macvlan: moved spec.rdmaResourceName spidernet.io/shared_cx5_gpu1 to spec.macvlan.rdmaResourceName"},
		},
		{
			name:     "seed webhook section: spec.ippools moves, enableRdma dropped",
			spec:     `{cniType: macvlan, macvlan: {master: [enp11s0f0np0], enableRdma: true, rdmaResourceName: spidernet.io/gpu1rdma}, ippools: {ipv4: [gpu1-net11]}}`,
			wantSpec: `{cniType: macvlan, macvlan: {master: [enp11s0f0np0], rdmaResourceName: spidernet.io/gpu1rdma, ippools: {ipv4: [gpu1-net11]}}}`,
			wantWarnings: []string{
				"SpiderMultusConfig spiderpool/gpu1-macvlan: moved spec.ippools to spec.macvlan.ippools",
				"SpiderMultusConfig spiderpool/gpu1-macvlan: spec.macvlan.enableRdma is implied by spec.macvlan.rdmaResourceName spidernet.io/gpu1rdma; removed it",
			},
		},
		{
			name:     "podDefaultRouteNIC kept, with a warning that it is ignored; eth0 needs none",
			spec:     `{cniType: macvlan, macvlan: {master: [eth1], ippools: {ipv4: [p]}}, coordinator: {podDefaultRouteNIC: net1}}`,
			wantSpec: `{cniType: macvlan, macvlan: {master: [eth1], ippools: {ipv4: [p]}}, coordinator: {podDefaultRouteNIC: net1}}`,
			wantWarnings: []string{"SpiderMultusConfig spiderpool/gpu1-macvlan: railnet does not move the pod's default route: " +
				"spec.coordinator.podDefaultRouteNIC net1 is ignored, the default route stays on eth0 (the cluster network) and " +
				"each rail interface routes through its own table; remove the field to silence this warning"},
		},
		{
			name:     "podDefaultRouteNIC eth0 is what railnet does anyway",
			spec:     `{cniType: macvlan, macvlan: {master: [eth1], ippools: {ipv4: [p]}}, coordinator: {podDefaultRouteNIC: eth0}}`,
			wantSpec: `{cniType: macvlan, macvlan: {master: [eth1], ippools: {ipv4: [p]}}, coordinator: {podDefaultRouteNIC: eth0}}`,
		},
		{
			name:     "cniType defaults to macvlan; canonical config unchanged",
			spec:     `{macvlan: {master: [eth1], rdmaResourceName: r, ippools: {ipv4: [p]}}}`,
			wantSpec: `{cniType: macvlan, macvlan: {master: [eth1], rdmaResourceName: r, ippools: {ipv4: [p]}}}`,
		},
		{
			name:     "sriov: spec.rdmaResourceName into sriov.resourceName",
			spec:     `{cniType: sriov, rdmaResourceName: nvidia.com/vf, sriov: {resourceName: ""}, ippools: {ipv4: [p]}}`,
			wantSpec: `{cniType: sriov, sriov: {resourceName: nvidia.com/vf, ippools: {ipv4: [p]}}}`,
			wantWarnings: []string{"SpiderMultusConfig spiderpool/gpu1-macvlan: moved spec.rdmaResourceName nvidia.com/vf to spec.sriov.resourceName",
				"SpiderMultusConfig spiderpool/gpu1-macvlan: moved spec.ippools to spec.sriov.ippools"},
		},
		{
			name:    "conflicting resource names",
			spec:    `{cniType: macvlan, rdmaResourceName: a, macvlan: {master: [eth1], rdmaResourceName: b}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.rdmaResourceName a and spec.macvlan.rdmaResourceName b differ; keep only spec.macvlan.rdmaResourceName",
		},
		{
			name:    "conflicting pools, enableRdma without resource",
			spec:    `{cniType: macvlan, ippools: {ipv4: [a]}, macvlan: {master: [eth1], enableRdma: true, ippools: {ipv4: [b]}}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.ippools and spec.macvlan.ippools differ; keep only spec.macvlan.ippools; spec.macvlan.enableRdma is true but spec.macvlan.rdmaResourceName is empty; set the RDMA resource (e.g. spidernet.io/shared_cx5_gpu1)",
		},
		{
			name:    "seed forms without a sub-config",
			spec:    `{cniType: ipoib, rdmaResourceName: a, ippools: {ipv4: [p]}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.rdmaResourceName is set but cniType ipoib has no spec.ipoib to carry it; remove it; spec.ippools is set but there is no spec.ipoib to carry it; add spec.ipoib",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smcFrom(t, nil, tt.spec)
			warnings, err := DefaultMultusConfig(s)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			if want := smcFrom(t, nil, tt.wantSpec); !reflect.DeepEqual(s.Spec, want.Spec) {
				t.Errorf("spec = %+v\nwant %+v", s.Spec, want.Spec)
			}
			if !reflect.DeepEqual(warnings, tt.wantWarnings) {
				t.Errorf("warnings = %q\nwant %q", warnings, tt.wantWarnings)
			}
			if err := ValidateMultusConfig(s); err != nil {
				t.Errorf("defaulted config invalid: %v", err)
			}
		})
	}
}

func TestValidateMultusConfig(t *testing.T) {
	rdma := map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}
	const pools = `ippools: {ipv4: [p]}`
	tests := []struct {
		name    string
		ann     map[string]string
		spec    string
		wantErr string
	}{
		{name: "valid seed config", ann: rdma, spec: `{cniType: macvlan, macvlan: {master: [enp11s0f0np0], rdmaResourceName: r, ippools: {ipv4: [p]}}}`},
		{name: "vlanID 0 is untagged", spec: `{cniType: macvlan, macvlan: {master: [eth1], vlanID: 0, ` + pools + `}}`},
		{name: "bond is refused", spec: `{cniType: macvlan, macvlan: {master: [eth1, eth2], bond: {name: bond0, mode: 1}, ` + pools + `}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.macvlan.master lists 2 NICs (eth1, eth2) but a pod's macvlan interface sits on a single NIC; " +
				"use one SpiderMultusConfig per NIC, or bond the NICs on the node and name the bond as the only master; " +
				"spec.macvlan.bond is not supported: railnet does not create bond interfaces; create the bond on every node " +
				"(e.g. with NetworkManager or systemd-networkd), name it in spec.macvlan.master and remove spec.macvlan.bond"},
		{name: "bond on one master is refused too", spec: `{cniType: ipvlan, ipvlan: {master: [bond0], bond: {name: bond0}, ` + pools + `}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.ipvlan.bond is not supported: railnet does not create bond interfaces; create the bond on every node " +
				"(e.g. with NetworkManager or systemd-networkd), name it in spec.ipvlan.master and remove spec.ipvlan.bond"},
		{name: "vlan is refused", spec: `{cniType: macvlan, macvlan: {master: [enp11s0f0np0], vlanID: 100, ` + pools + `}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.macvlan.vlanID 100 is not supported: railnet does not create VLAN interfaces; " +
				"create the VLAN interface on every node (e.g. enp11s0f0np0.100), name it in spec.macvlan.master and remove spec.macvlan.vlanID"},
		{name: "empty master", spec: `{cniType: macvlan, macvlan: {master: [], ` + pools + `}}`,
			wantErr: `SpiderMultusConfig spiderpool/gpu1-macvlan: spec.macvlan.master is empty; name the node's NIC, e.g. ["enp11s0f0np0"]`},
		{name: "several masters without bond", spec: `{cniType: ipvlan, ipvlan: {master: [eth1, eth2], ` + pools + `}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.ipvlan.master lists 2 NICs (eth1, eth2) but a pod's ipvlan interface sits on a single NIC; " +
				"use one SpiderMultusConfig per NIC, or bond the NICs on the node and name the bond as the only master"},
		{name: "mtu out of range", spec: `{cniType: macvlan, macvlan: {master: [eth1], mtu: 20, ` + pools + `}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.macvlan.mtu 20 is out of range 68-65535"},
		{name: "sriov vlan out of range", spec: `{cniType: sriov, sriov: {resourceName: r, vlanID: -1, mtu: 70000, ` + pools + `}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.sriov.vlanID -1 is out of range 0-4094; spec.sriov.mtu 70000 is out of range 68-65535"},
		{name: "sriov vlan is the sriov plugin's", spec: `{cniType: sriov, sriov: {resourceName: r, vlanID: 100, ` + pools + `}}`},
		{name: "more than one sub-config", spec: `{cniType: macvlan, macvlan: {master: [eth1], ` + pools + `}, sriov: {resourceName: r}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: more than one sub-config (spec.macvlan, spec.sriov); keep only spec.macvlan for cniType macvlan"},
		{name: "sub-config not matching cniType", spec: `{cniType: sriov, macvlan: {master: [eth1]}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.macvlan does not match cniType sriov; use spec.sriov or change cniType"},
		{name: "missing sub-config", spec: `{cniType: ib-sriov}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: cniType ib-sriov needs spec.ibsriov"},
		{name: "unsupported cniType", spec: `{cniType: bridge}`,
			wantErr: `SpiderMultusConfig spiderpool/gpu1-macvlan: spec.cniType "bridge" is not supported; use one of macvlan, ipvlan, sriov, ib-sriov, ipoib`},
		{name: "ipoib without master", spec: `{cniType: ipoib, ipoib: {master: "", ` + pools + `}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: spec.ipoib.master is empty; name the node's IPoIB NIC, e.g. ib0"},
		{name: "inject annotation on a config that cannot be injected", ann: rdma, spec: `{cniType: macvlan, macvlan: {master: [eth1]}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: annotation cni.spidernet.io/rdma-resource-inject: rdma-network puts it in an inject group, but it has no RDMA resource name (set spec.macvlan.rdmaResourceName) and no IP pool (set spec.macvlan.ippools.ipv4 or .ipv6); fix the config or remove the annotation"},
		{name: "DRA mode needs no RDMA resource name", ann: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-dra", "railnet.io/inject-mode": "dra"},
			spec: `{cniType: macvlan, macvlan: {master: [eth1], ` + pools + `}}`},
		{name: "DRA mode still needs pools", ann: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-dra", "railnet.io/inject-mode": "dra"},
			spec: `{cniType: macvlan, macvlan: {master: [eth1]}}`, wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: " + poolless("macvlan")},
		{name: "unknown inject mode", ann: map[string]string{"railnet.io/inject-mode": "DRA"}, spec: `{cniType: macvlan, macvlan: {master: [eth1], ` + pools + `}}`,
			wantErr: `SpiderMultusConfig spiderpool/gpu1-macvlan: annotation railnet.io/inject-mode="DRA" is not a mode; use "dra" (rails follow the pod's GPUs, charts/railnet/docs/dra.md) or "device-plugin", or leave it out`},
		{name: "network-resource-inject without resource is fine",
			ann: map[string]string{spiderv2beta1.AnnotationNetworkResourceInject: "underlay"}, spec: `{cniType: macvlan, macvlan: {master: [eth1], ` + pools + `}}`},
		// The IPAM serves only the pools a config names: a config without
		// pools would pass here and fail at CNI ADD.
		{name: "network-resource-inject without pools", ann: map[string]string{spiderv2beta1.AnnotationNetworkResourceInject: "underlay"},
			spec: `{cniType: macvlan, macvlan: {master: [eth1]}}`, wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: " + poolless("macvlan")},
		{name: "no annotation, no pools", spec: `{cniType: ipvlan, ipvlan: {master: [eth1], ippools: {}}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: " + poolless("ipvlan")},
		{name: "sriov without pools", spec: `{cniType: sriov, sriov: {resourceName: r}}`,
			wantErr: "SpiderMultusConfig spiderpool/gpu1-macvlan: " + poolless("sriov")},
		{name: "ipv6 pool only", spec: `{cniType: macvlan, macvlan: {master: [eth1], ippools: {ipv6: [p6]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidateMultusConfig(smcFrom(t, tt.ann, tt.spec)), tt.wantErr)
		})
	}
}

func poolless(sub string) string {
	return "spec." + sub + ".ippools names no SpiderIPPool: railnet gives an interface only addresses of the pools its config names " +
		"(it does not fall back to spec.default pools); set spec." + sub + ".ippools.ipv4 or .ipv6, e.g. {ipv4: [gpu1-net11]}"
}
