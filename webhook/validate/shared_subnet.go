package validate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/inject"
)

// railPool is one pool that one rail of an inject group draws from.
type railPool struct {
	pool, rail string // pool name; the config's first master
	config     string // namespace/name of the SpiderMultusConfig
}

// SharedSubnetWarnings warns about smc (being created or updated; it
// replaces the stored copy in configs) when, in an inject group it belongs
// to, another rail draws addresses from a pool on the subnet of one of smc's
// pools. A pod of the group then has several interfaces on one subnet, and
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
	return sharedSubnets(all, pools, func(members []railPool) bool {
		return slices.ContainsFunc(members, func(m railPool) bool { return m.config == id })
	}, "SpiderMultusConfig "+id)
}

// SharedSubnetPoolWarnings is SharedSubnetWarnings for pool being created
// or updated (it replaces the stored copy in pools): it warns when a rail
// drawing from pool shares its subnet with another rail of the same inject
// group.
func SharedSubnetPoolWarnings(pool *spiderv2beta1.SpiderIPPool, configs []*spiderv2beta1.SpiderMultusConfig,
	pools []spiderv2beta1.SpiderIPPool) []string {
	all := []spiderv2beta1.SpiderIPPool{*pool}
	for _, p := range pools {
		if p.Name != pool.Name {
			all = append(all, p)
		}
	}
	return sharedSubnets(configs, all, func(members []railPool) bool {
		return slices.ContainsFunc(members, func(m railPool) bool { return m.pool == pool.Name })
	}, "SpiderIPPool "+pool.Name)
}

// sharedSubnets returns one warning per inject group and subnet on which
// more than one rail draws, for the groups and subnets that involve says
// concern the object being admitted (named who).
func sharedSubnets(configs []*spiderv2beta1.SpiderMultusConfig, pools []spiderv2beta1.SpiderIPPool,
	involves func([]railPool) bool, who string) []string {
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
	type key struct {
		group  string
		subnet netip.Prefix
	}
	bySubnet := map[key][]railPool{}
	var keys []key
	for _, c := range configs {
		masters := c.Spec.Masters()
		if len(masters) == 0 {
			continue
		}
		groups := map[string]bool{}
		for _, k := range []string{spiderv2beta1.AnnotationRDMAResourceInject, spiderv2beta1.AnnotationNetworkResourceInject} {
			for _, g := range inject.SplitGroups(c.Annotations[k]) {
				groups[g] = true
			}
		}
		ps := c.Spec.Pools()
		for _, name := range append(slices.Clone(ps.IPv4), ps.IPv6...) {
			sn, ok := subnets[name]
			if !ok {
				continue
			}
			for g := range groups {
				k := key{g, sn}
				if _, seen := bySubnet[k]; !seen {
					keys = append(keys, k)
				}
				bySubnet[k] = append(bySubnet[k], railPool{pool: name, rail: masters[0], config: c.Namespace + "/" + c.Name})
			}
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.group, b.group); c != 0 {
			return c
		}
		return a.subnet.Addr().Compare(b.subnet.Addr())
	})
	var out []string
	for _, k := range keys {
		members := bySubnet[k]
		rails := map[string]bool{}
		for _, m := range members {
			rails[m.rail] = true
		}
		if len(rails) < 2 || !involves(members) {
			continue
		}
		slices.SortFunc(members, func(a, b railPool) int { return strings.Compare(a.pool+a.rail, b.pool+b.rail) })
		var list, suggest []string
		for _, m := range members {
			list = append(list, fmt.Sprintf("%s (rail %s)", m.pool, m.rail))
			if s := perRailSubnet(gateways[m.pool], k.subnet); s != "" {
				suggest = append(suggest, m.pool+" "+s)
			}
		}
		msg := fmt.Sprintf("%s: inject group %s puts %d rails on one subnet %s through SpiderIPPools %s; "+
			"a pod of the group would have several interfaces on that subnet and traffic between rails could leave "+
			"through the wrong one: give each rail's pool its own subnet", who, k.group, len(rails), k.subnet, strings.Join(list, ", "))
		if len(suggest) == len(members) {
			msg += " (e.g. spec.subnet " + strings.Join(suggest, ", ") + ")"
		}
		out = append(out, msg)
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
