package cniconf

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// What the webhook renders is what the plugins read: a Coordinator entry
// unmarshals into the plugin's {types.NetConf; CoordinatorOptions} with every
// option intact, and an IPAM section into the ipam plugin's.
func TestRenderedIsRead(t *testing.T) {
	yes, no, nic := true, false, "net1"
	for name, opts := range map[string]CoordinatorOptions{
		"empty": {},
		"all":   {DetectGateway: &no, DetectIPConflict: &yes, PodDefaultRouteNIC: &nic, TunePodRoutes: &no, MTU: 9000, ProbeTimeout: "300ms", IPAMSocket: "/run/x.sock"},
	} {
		b, err := json.Marshal(Coordinator{Type: CoordinatorType, CoordinatorOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			types.NetConf
			CoordinatorOptions
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Type != CoordinatorType || !reflect.DeepEqual(got.CoordinatorOptions, opts) {
			t.Errorf("%s: rendered %s, read type %q options %+v", name, b, got.Type, got.CoordinatorOptions)
		}
	}

	in := IPAM{Type: IPAMType, IPPools: Pools{IPv4: []string{"gpu1-net11"}, IPv6: []string{"gpu1-net11-v6"}}}
	b, err := json.Marshal(map[string]any{"cniVersion": CNIVersion, "name": "n", "type": "macvlan", "ipam": in})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		types.NetConf
		IPAM IPAM `json:"ipam"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.IPAM, in) {
		t.Errorf("ipam rendered %s, read %+v", b, got.IPAM)
	}
}

func TestOnDefaultsToTrue(t *testing.T) {
	yes, no := true, false
	if !On(nil) || !On(&yes) || On(&no) {
		t.Error("On: absent and true must be on, false off")
	}
}

func TestPoolsEmpty(t *testing.T) {
	if !(Pools{}).Empty() || (Pools{IPv6: []string{"p"}}).Empty() {
		t.Error("Empty: no names is empty, one IPv6 pool is not")
	}
}
