package discovery

import (
	"sort"

	"github.com/railnet/railnet/api/networks"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// RailConfig says where rail numbers come from (see the package doc).
type RailConfig struct {
	// ByIfName maps a netdev name to its rail; wins when not empty.
	ByIfName map[string]int32
	// Masters are the cluster's rail masters in rail order (RailMasters).
	Masters []string
}

// Rail sources, reported by AssignRails.
const (
	RailSourceConfig   = "config"
	RailSourceMasters  = "spidermultusconfig"
	RailSourceAffinity = "gpu-affinity"
)

// RailMasters returns the rail masters named by SpiderMultusConfigs: every
// macvlan/ipvlan/ipoib master, de-duplicated, in natural order
// (spiderv2beta1.RailMasters, shared with the webhook).
func RailMasters(smcs []spiderv2beta1.SpiderMultusConfig) []string {
	specs := make([]*spiderv2beta1.MultusCNIConfigSpec, len(smcs))
	for i := range smcs {
		specs[i] = &smcs[i].Spec
	}
	return spiderv2beta1.RailMasters(specs)
}

// NaturalLess orders strings with digit runs compared as numbers, so eth2
// sorts before eth10 (api/networks.CompareNatural, shared with the webhook).
func NaturalLess(a, b string) bool { return networks.CompareNatural(a, b) < 0 }

// AssignRails sets Rail on nics (clearing any previous value) and returns
// which source was used. gpus are the node's GPUs by index (for affinity).
func AssignRails(nics []railnetv1.NIC, gpus []railnetv1.GPU, cfg RailConfig) string {
	for i := range nics {
		nics[i].Rail = nil
	}
	switch {
	case len(cfg.ByIfName) > 0:
		for i := range nics {
			if r, ok := cfg.ByIfName[nics[i].Netdev]; ok {
				nics[i].Rail = ptr(r)
			}
		}
		return RailSourceConfig
	case len(cfg.Masters) > 0:
		idx := make(map[string]int32, len(cfg.Masters))
		for i, m := range cfg.Masters {
			if _, dup := idx[m]; !dup {
				idx[m] = int32(i)
			}
		}
		for i := range nics {
			if r, ok := idx[nics[i].Netdev]; ok {
				nics[i].Rail = ptr(r)
			}
		}
		return RailSourceMasters
	}
	gpuIndex := make(map[string]int32, len(gpus))
	for _, g := range gpus {
		gpuIndex[g.PCIAddress] = g.Index
	}
	var order []int
	for i := range nics {
		d := nics[i].GPUDistance
		if nics[i].NearestGPU != "" && (d == railnetv1.DistancePIX || d == railnetv1.DistancePXB) {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		for i := range nics {
			order = append(order, i)
		}
		sort.SliceStable(order, func(a, b int) bool { return nics[order[a]].PCIAddress < nics[order[b]].PCIAddress })
	} else {
		sort.SliceStable(order, func(a, b int) bool {
			x, y := &nics[order[a]], &nics[order[b]]
			if gx, gy := gpuIndex[x.NearestGPU], gpuIndex[y.NearestGPU]; gx != gy {
				return gx < gy
			}
			if dx, dy := distanceRank[x.GPUDistance], distanceRank[y.GPUDistance]; dx != dy {
				return dx < dy
			}
			return x.PCIAddress < y.PCIAddress
		})
	}
	for r, i := range order {
		nics[i].Rail = ptr(int32(r))
	}
	return RailSourceAffinity
}

func ptr[T any](v T) *T { return &v }
