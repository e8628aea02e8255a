package discovery

import (
	"reflect"
	"sort"
	"testing"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func nic(netdev, pci, gpu, dist string) railnetv1.NIC {
	return railnetv1.NIC{Netdev: netdev, PCIAddress: pci, NearestGPU: gpu, GPUDistance: dist}
}

func rails(nics []railnetv1.NIC) map[string]int32 {
	out := map[string]int32{}
	for _, n := range nics {
		if n.Rail != nil {
			out[n.Netdev] = *n.Rail
		}
	}
	return out
}

func TestAssignRails(t *testing.T) {
	gpus := []railnetv1.GPU{{PCIAddress: "g0", Index: 0}, {PCIAddress: "g1", Index: 1}}
	base := func() []railnetv1.NIC {
		return []railnetv1.NIC{
			nic("eth10", "0000:0c:00.0", "g0", "PIX"),
			nic("eth2", "0000:0b:00.0", "g1", "PIX"),
			nic("mgmt0", "0000:01:00.0", "g0", "SYS"),
		}
	}
	tests := []struct {
		name       string
		nics       []railnetv1.NIC
		cfg        RailConfig
		want       map[string]int32
		wantSource string
	}{
		{name: "config wins", nics: base(),
			cfg:  RailConfig{ByIfName: map[string]int32{"eth2": 4, "mgmt0": 7}, Masters: []string{"eth10"}},
			want: map[string]int32{"eth2": 4, "mgmt0": 7}, wantSource: RailSourceConfig},
		{name: "masters index is cluster-wide", nics: base(),
			cfg:  RailConfig{Masters: []string{"eth1", "eth2", "eth10"}},
			want: map[string]int32{"eth2": 1, "eth10": 2}, wantSource: RailSourceMasters},
		{name: "GPU affinity skips far NICs", nics: base(),
			want: map[string]int32{"eth10": 0, "eth2": 1}, wantSource: RailSourceAffinity},
		{name: "two NICs on one GPU: nearer first", nics: []railnetv1.NIC{
			nic("a", "0000:0c:00.0", "g0", "PXB"), nic("b", "0000:0d:00.0", "g0", "PIX")},
			want: map[string]int32{"b": 0, "a": 1}, wantSource: RailSourceAffinity},
		{name: "no GPUs: PCI order", nics: []railnetv1.NIC{
			nic("z", "0000:0b:00.0", "", ""), nic("a", "0000:0c:00.0", "", "")},
			want: map[string]int32{"z": 0, "a": 1}, wantSource: RailSourceAffinity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.nics[0].Rail = ptr(int32(99)) // stale value must be cleared
			src := AssignRails(tc.nics, gpus, tc.cfg)
			if src != tc.wantSource {
				t.Errorf("source %q, want %q", src, tc.wantSource)
			}
			if got := rails(tc.nics); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rails %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRailMasters(t *testing.T) {
	mk := func(masters ...string) spiderv2beta1.SpiderMultusConfig {
		var s spiderv2beta1.SpiderMultusConfig
		s.Spec.Macvlan = &spiderv2beta1.MacvlanConfig{Master: masters}
		return s
	}
	sriov := spiderv2beta1.CNITypeSRIOV
	var vf spiderv2beta1.SpiderMultusConfig
	vf.Spec.CNIType = &sriov
	got := RailMasters([]spiderv2beta1.SpiderMultusConfig{
		mk("enp18s0f0np0"), mk("enp11s0f0np0"), vf, mk("enp12s0f0np0", "enp11s0f0np0"),
	})
	want := []string{"enp11s0f0np0", "enp12s0f0np0", "enp18s0f0np0"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RailMasters = %v, want %v", got, want)
	}
}

func TestNaturalLess(t *testing.T) {
	in := []string{"eth10", "eth2", "eth1", "enp18s0f0np0", "enp11s0f0np0", "eth02", "a", ""}
	sort.Slice(in, func(i, j int) bool { return NaturalLess(in[i], in[j]) })
	want := []string{"", "a", "enp11s0f0np0", "enp18s0f0np0", "eth1", "eth2", "eth02", "eth10"}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("sorted %v, want %v", in, want)
	}
}
