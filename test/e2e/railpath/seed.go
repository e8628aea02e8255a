package railpath

import (
	"fmt"
	"strings"
)

// coordinator says whether the story chains railnet-coordinator.
const coordinator = true

// seedManifests are the seed guide's webhook-section objects for all 8 GPUs
// (the guide spells out GPU 1 and says the others follow the pattern), with
// the seed's own field placements (ippools and rdmaResourceName under spec)
// and /24 subnets so each rail's subnet is its own.
func seedManifests() []byte {
	var b strings.Builder
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, `apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderIPPool
metadata:
  name: gpu%[1]d-net1%[1]d
spec:
  gateway: 172.16.1%[1]d.254
  subnet: 172.16.1%[1]d.0/24
  ips:
  - 172.16.1%[1]d.1-172.16.1%[1]d.200
---
apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderMultusConfig
metadata:
  name: gpu%[1]d-macvlan
  namespace: spiderpool
  annotations:
    cni.spidernet.io/rdma-resource-inject: rdma-network
spec:
  cniType: macvlan
  rdmaResourceName: spidernet.io/shared_cx5_gpu%[1]d
  macvlan:
    master: ["enp1%[1]ds0f0np0"]
    enableRdma: true
  ippools:
    ipv4: ["gpu%[1]d-net1%[1]d"]
---
`, i)
	}
	return []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: spiderpool\n---\n" + b.String())
}
