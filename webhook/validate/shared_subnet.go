package validate

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// railPool is one pool that one rail of an inject group draws from.
type railPool struct {
	pool, rail string // pool name; the config's first master
	config     string // namespace/name of the SpiderMultusConfig
}

// SharedSubnetWarnings warns about smc (being created or updated; it
// replaces the stored copy in configs) when, in an inject group it belongs
// to, another rail draws addresses from a pool whose subnet overlaps that of
// one of smc's pools. A pod of the group then has several interfaces on one subnet, and
// traffic between rails leaves through whichever interface the kernel picks
// first — the seed guide's pools as written (172.16.1N.0/16, all the network
// 172.16.0.0/16) do exactly that. The warning names the pools and suggests
// one subnet per rail.
func SharedSubnetWarnings(smc *spiderv2beta1.SpiderMultusConfig, configs []*spiderv2beta1.SpiderMultusConfig,
	pools []spiderv2beta1.SpiderIPPool) []string {
	id := smc.Namespace + "/" + smc.Name
	all := []*spiderv2beta1.SpiderMultusConfig{smc}
	for _, c := range configs {
		if c.Namespace+"/"+c.Name != id {
			all = append(all, c)
		}
	}
	return sharedSubnets(all, pools, func(m railPool) bool { return m.config == id }, "SpiderMultusConfig "+id)
}

// SharedSubnetPoolWarnings is SharedSubnetWarnings for pool being created
// or updated (it replaces the stored copy in pools): it warns when a rail
// drawing from pool shares its subnet with another rail of the same inject
// group — also when pool is only dry-run, as a check of a pool file before
// applying it.
func SharedSubnetPoolWarnings(pool *spiderv2beta1.SpiderIPPool, configs []*spiderv2beta1.SpiderMultusConfig,
	pools []spiderv2beta1.SpiderIPPool) []string {
	all := []spiderv2beta1.SpiderIPPool{*pool}
	for _, p := range pools {
		if p.Name != pool.Name {
			all = append(all, p)
		}
	}
	return sharedSubnets(configs, all, func(m railPool) bool { return m.pool == pool.Name }, "SpiderIPPool "+pool.Name)
}

// sharedSubnets returns one warning per pool of the admitted object (those
// focus says are its own) whose subnet overlaps the subnet of a pool that
// another rail of the same inject group draws from (named who).
func sharedSubnets(configs []*spiderv2beta1.SpiderMultusConfig, pools []spiderv2beta1.SpiderIPPool,
	focus func(railPool) bool, who string) []string {
	subnets := map[string]netip.Prefix{}
	gateways := map[string]string{}
	for _, p := range pools {
		if pr, err := netip.ParsePrefix(p.Spec.Subnet); err == nil {
			subnets[p.Name] = pr.Masked()
		}
		if p.Spec.Gateway != nil {
			gateways[p.Name] = *p.Spec.Gateway
		}
	}
	byGroup := map[string][]railPool{}
	for _, c := range configs {
		masters := c.Spec.Masters()
		if len(masters) == 0 {
			continue
		}
		groups := map[string]bool{}
		for _, k := range []string{spiderv2beta1.AnnotationRDMAResourceInject, spiderv2beta1.AnnotationNetworkResourceInject} {
			for _, g := range injectgroup.SplitGroups(c.Annotations[k]) {
				groups[g] = true
			}
		}
		ps := c.Spec.Pools()
		for _, name := range append(slices.Clone(ps.IPv4), ps.IPv6...) {
			if _, ok := subnets[name]; !ok {
				continue
			}
			for g := range groups {
				byGroup[g] = append(byGroup[g], railPool{pool: name, rail: masters[0], config: c.Namespace + "/" + c.Name})
			}
		}
	}
	var out []string
	for _, g := range slices.Sorted(maps.Keys(byGroup)) {
		members := byGroup[g]
		slices.SortFunc(members, func(a, b railPool) int {
			return cmp.Or(strings.Compare(a.pool, b.pool), strings.Compare(a.rail, b.rail), strings.Compare(a.config, b.config))
		})
		done := map[string]bool{}
		for _, f := range members {
			if !focus(f) || done[f.pool+" "+f.rail] {
				continue
			}
			done[f.pool+" "+f.rail] = true
			sn := subnets[f.pool]
			var others []string
			suggest := []string{}
			if s := perRailSubnet(gateways[f.pool], sn); s != "" {
				suggest = append(suggest, f.pool+" "+s)
			}
			seen := map[string]bool{}
			for _, o := range members {
				if o.rail == f.rail || !subnets[o.pool].Overlaps(sn) || seen[o.pool+" "+o.rail] {
					continue
				}
				seen[o.pool+" "+o.rail] = true
				others = append(others, fmt.Sprintf("%s (rail %s, %s)", o.pool, o.rail, subnets[o.pool]))
				if s := perRailSubnet(gateways[o.pool], subnets[o.pool]); s != "" {
					suggest = append(suggest, o.pool+" "+s)
				}
			}
			if len(others) == 0 {
				continue
			}
			msg := fmt.Sprintf("%s: in inject group %s, SpiderIPPool %s (rail %s, %s) overlaps the subnets of other rails: %s; "+
				"a pod of the group would have several interfaces on one subnet and traffic between rails could leave "+
				"through the wrong one: give each rail's pool its own subnet", who, g, f.pool, f.rail, sn, strings.Join(others, ", "))
			if len(suggest) > 0 {
				msg += " (e.g. spec.subnet " + strings.Join(suggest, ", ") + ")"
			}
			out = append(out, msg)
		}
	}
	return out
}

// perRailSubnet suggests the /24 around a pool's IPv4 gateway when the
// pool's subnet is wider, as the seed's pods show their addresses.
func perRailSubnet(gateway string, subnet netip.Prefix) string {
	gw, err := netip.ParseAddr(gateway)
	if err != nil || !gw.Is4() || subnet.Bits() >= 24 {
		return ""
	}
	return netip.PrefixFrom(gw, 24).Masked().String()
}
