package validate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/railnet/railnet/api/ippool"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// DefaultPool fills in and normalises a SpiderIPPool in place and returns the
// warnings to answer with. It leaves malformed fields alone for ValidatePool
// to refuse.
func DefaultPool(p *spiderv2beta1.SpiderIPPool) []string {
	var warnings []string
	s := &p.Spec
	prefix, err := netip.ParsePrefix(strings.TrimSpace(s.Subnet))
	if err != nil {
		return nil
	}
	if masked := prefix.Masked(); masked != prefix || s.Subnet != masked.String() {
		if masked != prefix {
			warnings = append(warnings, fmt.Sprintf(
				"SpiderIPPool %s: spec.subnet %s is not a network address; normalised to %s (network address %s)",
				p.Name, s.Subnet, masked, masked.Addr()))
		}
		s.Subnet = masked.String()
	}
	if s.IPVersion == nil {
		v := int64(4)
		if prefix.Addr().Is6() {
			v = 6
		}
		s.IPVersion = &v
	}
	if s.Gateway != nil {
		gw, err := netip.ParseAddr(*s.Gateway)
		if err == nil && anyContains(parseRanges(s.IPs), gw) && !anyContains(parseRanges(s.ExcludeIPs), gw) {
			s.ExcludeIPs = append(s.ExcludeIPs, gw.String())
			warnings = append(warnings, fmt.Sprintf(
				"SpiderIPPool %s: gateway %s is inside spec.ips; added it to spec.excludeIPs so no pod gets it",
				p.Name, gw))
		}
	}
	if s.Default != nil && *s.Default {
		warnings = append(warnings, fmt.Sprintf(
			"SpiderIPPool %s: spec.default has no effect in railnet: interfaces get addresses only from the pools their SpiderMultusConfig names in ippools; name %s there",
			p.Name, p.Name))
	}
	return warnings
}

// ValidatePool checks a SpiderIPPool (after DefaultPool). old is the stored
// pool on update (nil on create); others are the cluster's other pools;
// inUse are the pool's allocated addresses. The error lists every problem.
func ValidatePool(p, old *spiderv2beta1.SpiderIPPool, others []spiderv2beta1.SpiderIPPool, inUse []netip.Addr) error {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	s := &p.Spec
	prefix, err := netip.ParsePrefix(strings.TrimSpace(s.Subnet))
	if err != nil {
		add("spec.subnet %q is not a CIDR such as 172.16.11.0/24", s.Subnet)
		return refusePool(p, probs)
	}
	prefix = prefix.Masked()
	is6 := prefix.Addr().Is6()
	if s.IPVersion != nil && !(*s.IPVersion == 4 && !is6 || *s.IPVersion == 6 && is6) {
		add("spec.ipVersion %d does not match spec.subnet %s", *s.IPVersion, prefix)
	}
	checkList := func(field string, list []string) []ipRange {
		var out []ipRange
		for i, v := range list {
			r, err := parseRange(v)
			if err != nil {
				add("%s[%d]: %v", field, i, err)
				continue
			}
			if !prefix.Contains(r.First) || !prefix.Contains(r.Last) {
				add("%s[%d] %s is outside spec.subnet %s", field, i, v, prefix)
				continue
			}
			out = append(out, r)
		}
		return out
	}
	ips := checkList("spec.ips", s.IPs)
	excl := checkList("spec.excludeIPs", s.ExcludeIPs)
	if s.Gateway != nil {
		gw, err := netip.ParseAddr(*s.Gateway)
		switch {
		case err != nil:
			add("spec.gateway %q is not an IP address", *s.Gateway)
		case !prefix.Contains(gw):
			add("spec.gateway %s is outside spec.subnet %s", gw, prefix)
		case anyContains(ips, gw) && !anyContains(excl, gw):
			add("spec.gateway %s is inside spec.ips; add it to spec.excludeIPs", gw)
		}
	}
	dsts := map[netip.Prefix]int{}
	for i, r := range s.Routes {
		dst, err := netip.ParsePrefix(r.Dst)
		if err != nil {
			add("spec.routes[%d].dst %q is not a CIDR", i, r.Dst)
		} else {
			dst = dst.Masked()
			if dst.Bits() == 0 {
				add("spec.routes[%d].dst %s is a default route; the pool's gateway (spec.gateway) is the default route, remove this entry", i, r.Dst)
			}
			if j, dup := dsts[dst]; dup {
				add("spec.routes[%d].dst %s repeats spec.routes[%d]; keep one", i, dst, j)
			}
			dsts[dst] = i
		}
		gw, err := netip.ParseAddr(r.Gw)
		if err != nil {
			add("spec.routes[%d].gw %q is not an IP address", i, r.Gw)
		} else if !prefix.Contains(gw) {
			add("spec.routes[%d].gw %s is outside spec.subnet %s", i, gw, prefix)
		}
	}
	// One address belongs to one pool, whatever the pools' subnets: the
	// usable addresses (ips minus excludeIPs minus gateway) of two pools
	// must not meet.
	if mine, err := ippool.Usable(p); err == nil && len(probs) == 0 {
		for i := range others {
			o := &others[i]
			if o.Name == p.Name {
				continue
			}
			theirs, err := ippool.Usable(o)
			if err != nil {
				continue
			}
			if both := mine.Intersect(theirs); len(both) > 0 {
				add("its addresses %s are also SpiderIPPool %s's (spec.subnet %s, spec.ips %s); one address belongs to one pool: change spec.ips or spec.excludeIPs of one of them",
					both, o.Name, o.Spec.Subnet, strings.Join(o.Spec.IPs, ", "))
			}
		}
	}
	if old != nil {
		var lost []string
		for _, a := range inUse {
			if !anyContains(ips, a) || anyContains(excl, a) {
				lost = append(lost, a.String())
			}
		}
		if len(lost) > 0 {
			slices.Sort(lost)
			add("the change removes addresses still allocated to pods: %s; delete those pods first or keep the addresses in spec.ips",
				strings.Join(lost, ", "))
		}
	}
	return refusePool(p, probs)
}

// ValidatePoolDelete refuses to delete a pool whose addresses are in use.
func ValidatePoolDelete(p *spiderv2beta1.SpiderIPPool, inUse []netip.Addr) error {
	if len(inUse) == 0 {
		return nil
	}
	list := make([]string, len(inUse))
	for i, a := range inUse {
		list[i] = a.String()
	}
	slices.Sort(list)
	return fmt.Errorf("SpiderIPPool %s still has %d allocated address(es): %s; delete the pods using them first",
		p.Name, len(list), strings.Join(list, ", "))
}

func refusePool(p *spiderv2beta1.SpiderIPPool, probs []string) error {
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("SpiderIPPool %s: %s", p.Name, strings.Join(probs, "; "))
}
