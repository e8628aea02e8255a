package validate

import (
	"fmt"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// seedPool is the seed guide's pool of rail n as written: subnet
// 172.16.1n.0/16 (the network 172.16.0.0/16) or, with perRail, the /24 the
// seed's pods show.
func seedPool(n int, perRail bool) spiderv2beta1.SpiderIPPool {
	subnet := fmt.Sprintf("172.16.1%d.0/16", n)
	if perRail {
		subnet = fmt.Sprintf("172.16.1%d.0/24", n)
	}
	gw := fmt.Sprintf("172.16.1%d.254", n)
	return spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("gpu%d-net1%d", n, n)},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: subnet, Gateway: &gw, IPs: []string{fmt.Sprintf("172.16.1%d.1-172.16.1%d.200", n, n)}}}
}

func seedConfig(n int, group string) *spiderv2beta1.SpiderMultusConfig {
	typ := spiderv2beta1.CNITypeMacvlan
	smc := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: fmt.Sprintf("gpu%d-macvlan", n)},
		Spec: spiderv2beta1.MultusCNIConfigSpec{CNIType: &typ, Macvlan: &spiderv2beta1.MacvlanConfig{
			Master: []string{fmt.Sprintf("enp1%ds0f0np0", n)}, RDMAResourceName: fmt.Sprintf("spidernet.io/shared_cx5_gpu%d", n),
			IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{fmt.Sprintf("gpu%d-net1%d", n, n)}}}}}
	if group != "" {
		smc.Annotations = map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: group}
	}
	return smc
}

func TestSharedSubnetWarnings(t *testing.T) {
	var seedPools, railPools []spiderv2beta1.SpiderIPPool
	for n := 1; n <= 3; n++ {
		seedPools = append(seedPools, seedPool(n, false))
		railPools = append(railPools, seedPool(n, true))
	}
	const want3 = "SpiderMultusConfig spiderpool/gpu3-macvlan: in inject group rdma-network, SpiderIPPool gpu3-net13 " +
		"(rail enp13s0f0np0, 172.16.0.0/16) overlaps the subnets of other rails: gpu1-net11 (rail enp11s0f0np0, 172.16.0.0/16), " +
		"gpu2-net12 (rail enp12s0f0np0, 172.16.0.0/16); a pod of the group would have several interfaces on one subnet and " +
		"traffic between rails could leave through the wrong one: give each rail's pool its own subnet " +
		"(e.g. spec.subnet gpu3-net13 172.16.13.0/24, gpu1-net11 172.16.11.0/24, gpu2-net12 172.16.12.0/24)"
	sameRail := seedConfig(3, "rdma-network")
	sameRail.Spec.Macvlan.Master = []string{"enp11s0f0np0"}
	otherGroup := seedConfig(3, "other")
	for _, tc := range []struct {
		name    string
		smc     *spiderv2beta1.SpiderMultusConfig
		configs []*spiderv2beta1.SpiderMultusConfig
		pools   []spiderv2beta1.SpiderIPPool
		want    []string
	}{
		{"the seed's pools as written", seedConfig(3, "rdma-network"),
			[]*spiderv2beta1.SpiderMultusConfig{seedConfig(1, "rdma-network"), seedConfig(2, "rdma-network"), seedConfig(3, "rdma-network")},
			seedPools, []string{want3}},
		{"one /24 per rail", seedConfig(3, "rdma-network"),
			[]*spiderv2beta1.SpiderMultusConfig{seedConfig(1, "rdma-network"), seedConfig(2, "rdma-network")}, railPools, nil},
		{"first of its group", seedConfig(1, "rdma-network"), nil, seedPools, nil},
		{"configs in no group (the seed's networks-annotation section)", seedConfig(2, ""),
			[]*spiderv2beta1.SpiderMultusConfig{seedConfig(1, "")}, seedPools, nil},
		{"another group", otherGroup, []*spiderv2beta1.SpiderMultusConfig{seedConfig(1, "rdma-network")}, seedPools, nil},
		{"two pools of one rail", sameRail, []*spiderv2beta1.SpiderMultusConfig{seedConfig(1, "rdma-network")}, seedPools, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SharedSubnetWarnings(tc.smc, tc.configs, tc.pools); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("warnings\n%q\nwant\n%q", got, tc.want)
			}
		})
	}

	// The pool side: the seed's pool as written, dry-run while the group's
	// configs and the per-rail /24 pools exist: its /16 overlaps every
	// other rail's /24.
	configs := []*spiderv2beta1.SpiderMultusConfig{seedConfig(1, "rdma-network"), seedConfig(2, "rdma-network"), seedConfig(3, "rdma-network")}
	p := seedPool(2, false)
	got := SharedSubnetPoolWarnings(&p, configs, railPools)
	const wantPool = "SpiderIPPool gpu2-net12: in inject group rdma-network, SpiderIPPool gpu2-net12 (rail enp12s0f0np0, 172.16.0.0/16) " +
		"overlaps the subnets of other rails: gpu1-net11 (rail enp11s0f0np0, 172.16.11.0/24), gpu3-net13 (rail enp13s0f0np0, 172.16.13.0/24); " +
		"a pod of the group would have several interfaces on one subnet and traffic between rails could leave through the wrong one: " +
		"give each rail's pool its own subnet (e.g. spec.subnet gpu2-net12 172.16.12.0/24)"
	if len(got) != 1 || got[0] != wantPool {
		t.Errorf("pool warnings\n%q\nwant\n%q", got, wantPool)
	}
	p = seedPool(2, true)
	if got := SharedSubnetPoolWarnings(&p, configs, railPools); len(got) != 0 {
		t.Errorf("the /24 pool: %q", got)
	}
}
