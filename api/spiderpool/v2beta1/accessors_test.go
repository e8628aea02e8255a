package v2beta1

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

// The seed guide's two spellings of one network must answer the same.
func TestAccessorsSeedForms(t *testing.T) {
	tests := []struct {
		name         string
		spec         string
		wantResource string
		wantPools    PoolsConfig
		wantMasters  []string
	}{
		{
			name: "seed step 3: rdmaResourceName under spec",
			spec: `
cniType: macvlan
rdmaResourceName: spidernet.io/shared_cx5_gpu1
macvlan:
  master: ["enp11s0f0np0"]
  ippools:
    ipv4: ["gpu1-net11"]`,
			wantResource: "spidernet.io/shared_cx5_gpu1",
			wantPools:    PoolsConfig{IPv4: []string{"gpu1-net11"}},
			wantMasters:  []string{"enp11s0f0np0"},
		},
		{
			name: "seed webhook section: ippools under spec, enableRdma",
			spec: `
cniType: macvlan
macvlan:
  master: ["enp11s0f0np0"]
  enableRdma: true
  rdmaResourceName: spidernet.io/gpu1rdma
ippools:
  ipv4: ["gpu1-net11"]`,
			wantResource: "spidernet.io/gpu1rdma",
			wantPools:    PoolsConfig{IPv4: []string{"gpu1-net11"}},
			wantMasters:  []string{"enp11s0f0np0"},
		},
		{
			name: "sriov resource, no masters",
			spec: `
cniType: sriov
sriov:
  resourceName: nvidia.com/cx7vf
  ippools: {ipv6: ["v6pool"]}`,
			wantResource: "nvidia.com/cx7vf",
			wantPools:    PoolsConfig{IPv6: []string{"v6pool"}},
		},
		{
			name:        "cniType defaults to macvlan",
			spec:        `macvlan: {master: [eth2]}`,
			wantMasters: []string{"eth2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s MultusCNIConfigSpec
			if err := yaml.UnmarshalStrict([]byte(tt.spec), &s); err != nil {
				t.Fatal(err)
			}
			if got := s.ResourceName(); got != tt.wantResource {
				t.Errorf("ResourceName() = %q, want %q", got, tt.wantResource)
			}
			if got := s.Pools(); !reflect.DeepEqual(got, tt.wantPools) {
				t.Errorf("Pools() = %+v, want %+v", got, tt.wantPools)
			}
			if got := s.Masters(); !reflect.DeepEqual(got, tt.wantMasters) {
				t.Errorf("Masters() = %v, want %v", got, tt.wantMasters)
			}
		})
	}
}

func TestSubField(t *testing.T) {
	for typ, want := range map[string]string{
		CNITypeMacvlan: "macvlan", CNITypeIPVlan: "ipvlan", CNITypeSRIOV: "sriov",
		CNITypeIBSRIOV: "ibsriov", CNITypeIPoIB: "ipoib", "custom": "macvlan", "": "macvlan",
	} {
		if got := SubField(typ); got != want {
			t.Errorf("SubField(%q) = %q, want %q", typ, got, want)
		}
	}
}
