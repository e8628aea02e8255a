package validate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/nad"
)

// MTU and VLAN bounds accepted on sub-configs.
const (
	minMTU    = 68
	maxMTU    = 65535
	maxVlanID = 4094
)

// DefaultMultusConfig normalises a SpiderMultusConfig in place: cniType
// defaults to macvlan, and the seed guide's spellings move to their
// canonical fields — spec.rdmaResourceName and spec.ippools into the
// sub-config, macvlan/ipvlan enableRdma (implied by rdmaResourceName) is
// dropped. Each move is a warning. A move that would overwrite a different
// value is an error.
func DefaultMultusConfig(smc *spiderv2beta1.SpiderMultusConfig) ([]string, error) {
	s := &smc.Spec
	id := smc.Namespace + "/" + smc.Name
	if s.CNIType == nil || *s.CNIType == "" {
		t := spiderv2beta1.CNITypeMacvlan
		s.CNIType = &t
	}
	typ := *s.CNIType
	sub := spiderv2beta1.SubField(typ)
	var warnings []string
	var probs []string
	if s.RDMAResourceName != "" {
		dst := resourceField(s)
		switch {
		case dst == nil:
			probs = append(probs, fmt.Sprintf("spec.rdmaResourceName is set but cniType %s has no spec.%s to carry it; remove it", typ, sub))
		case *dst == "" || *dst == s.RDMAResourceName:
			*dst = s.RDMAResourceName
			warnings = append(warnings, fmt.Sprintf("SpiderMultusConfig %s: moved spec.rdmaResourceName %s to spec.%s.%s",
				id, s.RDMAResourceName, sub, resourceKey(typ)))
			s.RDMAResourceName = ""
		default:
			probs = append(probs, fmt.Sprintf("spec.rdmaResourceName %s and spec.%s.%s %s differ; keep only spec.%s.%s",
				s.RDMAResourceName, sub, resourceKey(typ), *dst, sub, resourceKey(typ)))
		}
	}
	if s.IPPools != nil && !s.IPPools.Empty() {
		dst := poolsField(s)
		switch {
		case dst == nil:
			probs = append(probs, fmt.Sprintf("spec.ippools is set but there is no spec.%s to carry it; add spec.%s", sub, sub))
		case *dst == nil || (*dst).Empty() || poolsEqual(**dst, *s.IPPools):
			*dst = s.IPPools
			warnings = append(warnings, fmt.Sprintf("SpiderMultusConfig %s: moved spec.ippools to spec.%s.ippools", id, sub))
			s.IPPools = nil
		default:
			probs = append(probs, fmt.Sprintf("spec.ippools and spec.%s.ippools differ; keep only spec.%s.ippools", sub, sub))
		}
	} else if s.IPPools != nil {
		s.IPPools = nil
	}
	for _, m := range []struct {
		name string
		cfg  *spiderv2beta1.MacvlanConfig
	}{{"macvlan", s.Macvlan}, {"ipvlan", s.IPVlan}} {
		if m.cfg == nil || !m.cfg.EnableRdma {
			continue
		}
		if m.cfg.RDMAResourceName == "" {
			probs = append(probs, fmt.Sprintf("spec.%s.enableRdma is true but spec.%s.rdmaResourceName is empty; set the RDMA resource (e.g. spidernet.io/shared_cx5_gpu1)", m.name, m.name))
			continue
		}
		m.cfg.EnableRdma = false
		warnings = append(warnings, fmt.Sprintf("SpiderMultusConfig %s: spec.%s.enableRdma is implied by spec.%s.rdmaResourceName %s; removed it",
			id, m.name, m.name, m.cfg.RDMAResourceName))
	}
	if c := s.Coordinator; c != nil && c.PodDefaultRouteNIC != nil && *c.PodDefaultRouteNIC != "" && *c.PodDefaultRouteNIC != "eth0" {
		// Kept, not refused: a Spiderpool config still applies; the
		// warning says what railnet does instead.
		warnings = append(warnings, fmt.Sprintf("SpiderMultusConfig %s: railnet does not move the pod's default route: "+
			"spec.coordinator.podDefaultRouteNIC %s is ignored, the default route stays on eth0 (the cluster network) and "+
			"each rail interface routes through its own table; remove the field to silence this warning", id, *c.PodDefaultRouteNIC))
	}
	if len(probs) > 0 {
		return warnings, fmt.Errorf("SpiderMultusConfig %s: %s", id, strings.Join(probs, "; "))
	}
	return warnings, nil
}

// ValidateMultusConfig checks a SpiderMultusConfig after defaulting.
func ValidateMultusConfig(smc *spiderv2beta1.SpiderMultusConfig) error {
	s := &smc.Spec
	typ := s.Type()
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if !slices.Contains(injectgroup.Supported, typ) {
		add("spec.cniType %q is not supported; use one of %s", typ, strings.Join(injectgroup.Supported, ", "))
	}
	var set []string
	for name, present := range map[string]bool{
		"macvlan": s.Macvlan != nil, "ipvlan": s.IPVlan != nil, "sriov": s.SRIOV != nil,
		"ibsriov": s.IBSRIOV != nil, "ipoib": s.IPoIB != nil,
	} {
		if present {
			set = append(set, "spec."+name)
		}
	}
	slices.Sort(set)
	want := "spec." + spiderv2beta1.SubField(typ)
	switch {
	case len(set) > 1:
		add("more than one sub-config (%s); keep only %s for cniType %s", strings.Join(set, ", "), want, typ)
	case len(set) == 1 && set[0] != want:
		add("%s does not match cniType %s; use %s or change cniType", set[0], typ, want)
	case len(set) == 0 && slices.Contains(injectgroup.Supported, typ):
		add("cniType %s needs %s", typ, want)
	}
	if s.RDMAResourceName != "" {
		add("spec.rdmaResourceName belongs in %s.rdmaResourceName", want)
	}
	for _, m := range []struct {
		name string
		cfg  *spiderv2beta1.MacvlanConfig
	}{{"macvlan", s.Macvlan}, {"ipvlan", s.IPVlan}} {
		if m.cfg == nil {
			continue
		}
		f := "spec." + m.name
		switch {
		case len(m.cfg.Master) == 0 || slices.Contains(m.cfg.Master, ""):
			add("%s.master is empty; name the node's NIC, e.g. [\"enp11s0f0np0\"]", f)
		case len(m.cfg.Master) > 1:
			add("%s.master lists %d NICs (%s) but a pod's %s interface sits on a single NIC; use one SpiderMultusConfig per NIC, "+
				"or bond the NICs on the node and name the bond as the only master", f, len(m.cfg.Master), strings.Join(m.cfg.Master, ", "), m.name)
		}
		// railnet's CNI chain has no step that creates a bond or a VLAN
		// interface (Spiderpool's ifacer): refused rather than rendered
		// onto a master that does not exist.
		for _, msg := range nad.UnsupportedLinks(f, m.cfg) {
			add("%s", msg)
		}
		checkMTU(add, f, m.cfg.MTU)
	}
	// A config without pools is refused: the IPAM serves only the pools a
	// config names. An inject annotation's own message says it when present.
	if dst := poolsField(s); dst != nil && (*dst == nil || (*dst).Empty()) && slices.Contains(injectgroup.Supported, typ) && !annotationNamesPools(smc) {
		add("%s.ippools names no SpiderIPPool: railnet gives an interface only addresses of the pools its config names "+
			"(it does not fall back to spec.default pools); set %s.ippools.ipv4 or .ipv6, e.g. {ipv4: [gpu1-net11]}", want, want)
	}
	if s.SRIOV != nil {
		checkVlan(add, "spec.sriov", s.SRIOV.VlanID)
		checkMTU(add, "spec.sriov", s.SRIOV.MTU)
	}
	if s.IPoIB != nil && s.IPoIB.Master == "" {
		add("spec.ipoib.master is empty; name the node's IPoIB NIC, e.g. ib0")
	}
	for _, key := range injectgroup.Keys {
		v, ok := smc.Annotations[key]
		if !ok {
			continue
		}
		if miss := missing(smc, key); len(miss) > 0 {
			add("annotation %s: %s puts it in an inject group, but it has %s; fix the config or remove the annotation",
				key, v, strings.Join(miss, " and "))
		}
	}
	if mode, ok := smc.Annotations[drainject.ModeAnnotation]; ok && mode != drainject.ModeDRA && mode != drainject.ModeDevicePlugin {
		add("annotation %s=%q is not a mode; use %q (rails follow the pod's GPUs, charts/railnet/docs/dra.md) or %q, or leave it out",
			drainject.ModeAnnotation, mode, drainject.ModeDRA, drainject.ModeDevicePlugin)
	}
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("SpiderMultusConfig %s/%s: %s", smc.Namespace, smc.Name, strings.Join(probs, "; "))
}

// missing is what smc lacks to be injected under key (inject.Missing). In
// DRA mode (drainject.ModeAnnotation) a pod's rails come from its claim, not
// from a device-plugin resource: the RDMA resource name is not needed; the
// pools are, and the pool check says so.
func missing(smc *spiderv2beta1.SpiderMultusConfig, key string) []string {
	if smc.Annotations[drainject.ModeAnnotation] == drainject.ModeDRA {
		key = spiderv2beta1.AnnotationNetworkResourceInject
	}
	return injectgroup.Missing(&smc.Spec, key)
}

// annotationNamesPools reports whether an inject annotation's refusal will
// already say that the config has no pool.
func annotationNamesPools(smc *spiderv2beta1.SpiderMultusConfig) bool {
	for _, key := range injectgroup.Keys {
		if _, ok := smc.Annotations[key]; !ok {
			continue
		}
		for _, m := range missing(smc, key) {
			if strings.HasPrefix(m, "no IP pool") {
				return true
			}
		}
	}
	return false
}

func checkVlan(add func(string, ...any), f string, v *int32) {
	if v != nil && (*v < 0 || *v > maxVlanID) {
		add("%s.vlanID %d is out of range 0-%d", f, *v, maxVlanID)
	}
}

func checkMTU(add func(string, ...any), f string, v *int32) {
	if v != nil && (*v < minMTU || *v > maxMTU) {
		add("%s.mtu %d is out of range %d-%d", f, *v, minMTU, maxMTU)
	}
}

func resourceKey(typ string) string {
	if typ == spiderv2beta1.CNITypeSRIOV || typ == spiderv2beta1.CNITypeIBSRIOV {
		return "resourceName"
	}
	return "rdmaResourceName"
}

// resourceField points at the sub-config's resource field, nil when the
// cniType's sub-config is absent or carries no resource.
func resourceField(s *spiderv2beta1.MultusCNIConfigSpec) *string {
	switch s.Type() {
	case spiderv2beta1.CNITypeMacvlan:
		if s.Macvlan != nil {
			return &s.Macvlan.RDMAResourceName
		}
	case spiderv2beta1.CNITypeIPVlan:
		if s.IPVlan != nil {
			return &s.IPVlan.RDMAResourceName
		}
	case spiderv2beta1.CNITypeSRIOV:
		if s.SRIOV != nil {
			return &s.SRIOV.ResourceName
		}
	case spiderv2beta1.CNITypeIBSRIOV:
		if s.IBSRIOV != nil {
			return &s.IBSRIOV.ResourceName
		}
	}
	return nil
}

func poolsField(s *spiderv2beta1.MultusCNIConfigSpec) **spiderv2beta1.PoolsConfig {
	switch s.Type() {
	case spiderv2beta1.CNITypeMacvlan:
		if s.Macvlan != nil {
			return &s.Macvlan.IPPools
		}
	case spiderv2beta1.CNITypeIPVlan:
		if s.IPVlan != nil {
			return &s.IPVlan.IPPools
		}
	case spiderv2beta1.CNITypeSRIOV:
		if s.SRIOV != nil {
			return &s.SRIOV.IPPools
		}
	case spiderv2beta1.CNITypeIBSRIOV:
		if s.IBSRIOV != nil {
			return &s.IBSRIOV.IPPools
		}
	case spiderv2beta1.CNITypeIPoIB:
		if s.IPoIB != nil {
			return &s.IPoIB.IPPools
		}
	}
	return nil
}

func poolsEqual(a, b spiderv2beta1.PoolsConfig) bool {
	return slices.Equal(a.IPv4, b.IPv4) && slices.Equal(a.IPv6, b.IPv6)
}
