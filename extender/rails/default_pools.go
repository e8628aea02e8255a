package rails

import (
	"net/netip"
	"slices"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// WithDefaultPools gives every rail that names no pool at all the pools
// marked spec.default, per IP family, as the IPAM would use them. Disabled
// default pools stay in the list so the filter can say why they cannot
// serve. Rails are changed in a copy.
func WithDefaultPools(rs []Rail, pools []*spiderv2beta1.SpiderIPPool) []Rail {
	var v4, v6 []string
	for _, p := range pools {
		if p.Spec.Default == nil || !*p.Spec.Default {
			continue
		}
		switch family(p) {
		case 4:
			v4 = append(v4, p.Name)
		case 6:
			v6 = append(v6, p.Name)
		}
	}
	slices.Sort(v4)
	slices.Sort(v6)
	out := slices.Clone(rs)
	for i := range out {
		if len(out[i].PoolsV4) == 0 && len(out[i].PoolsV6) == 0 {
			out[i].PoolsV4, out[i].PoolsV6 = v4, v6
		}
	}
	return out
}

func family(p *spiderv2beta1.SpiderIPPool) int64 {
	if p.Spec.IPVersion != nil {
		return *p.Spec.IPVersion
	}
	pfx, err := netip.ParsePrefix(p.Spec.Subnet)
	if err != nil {
		return 0
	}
	if pfx.Addr().Is4() {
		return 4
	}
	return 6
}
