package v2beta1

// Annotation keys that put a SpiderMultusConfig into injection groups (a
// comma-separated list of group names) and that ask for a group on a pod or
// namespace.
const (
	AnnotationRDMAResourceInject    = "cni.spidernet.io/rdma-resource-inject"
	AnnotationNetworkResourceInject = "cni.spidernet.io/network-resource-inject"
)

// Type returns the CNI type, defaulting to macvlan as the CRD does.
func (s *MultusCNIConfigSpec) Type() string {
	if s.CNIType == nil || *s.CNIType == "" {
		return CNITypeMacvlan
	}
	return *s.CNIType
}

// Masters returns the parent interfaces of a macvlan, ipvlan or ipoib network;
// nil for SR-IOV kinds, whose parent is a device plugin VF.
func (s *MultusCNIConfigSpec) Masters() []string {
	switch s.Type() {
	case CNITypeMacvlan:
		if s.Macvlan != nil {
			return s.Macvlan.Master
		}
	case CNITypeIPVlan:
		if s.IPVlan != nil {
			return s.IPVlan.Master
		}
	case CNITypeIPoIB:
		if s.IPoIB != nil && s.IPoIB.Master != "" {
			return []string{s.IPoIB.Master}
		}
	}
	return nil
}

// ResourceName returns the device plugin resource a pod needs to use this
// network: rdmaResourceName for macvlan/ipvlan, resourceName for sriov and
// ib-sriov. The seed guide's spec.rdmaResourceName counts when the canonical
// field is empty, so an object the webhook has not normalised yet still
// answers correctly.
func (s *MultusCNIConfigSpec) ResourceName() string {
	switch s.Type() {
	case CNITypeMacvlan:
		if s.Macvlan != nil && s.Macvlan.RDMAResourceName != "" {
			return s.Macvlan.RDMAResourceName
		}
		return s.RDMAResourceName
	case CNITypeIPVlan:
		if s.IPVlan != nil && s.IPVlan.RDMAResourceName != "" {
			return s.IPVlan.RDMAResourceName
		}
		return s.RDMAResourceName
	case CNITypeSRIOV:
		if s.SRIOV != nil {
			return s.SRIOV.ResourceName
		}
	case CNITypeIBSRIOV:
		if s.IBSRIOV != nil {
			return s.IBSRIOV.ResourceName
		}
	}
	return ""
}

// Pools returns the IP pools of the network's sub-configuration, falling back
// to the seed guide's spec.ippools.
func (s *MultusCNIConfigSpec) Pools() PoolsConfig {
	var p *PoolsConfig
	switch s.Type() {
	case CNITypeMacvlan:
		if s.Macvlan != nil {
			p = s.Macvlan.IPPools
		}
	case CNITypeIPVlan:
		if s.IPVlan != nil {
			p = s.IPVlan.IPPools
		}
	case CNITypeSRIOV:
		if s.SRIOV != nil {
			p = s.SRIOV.IPPools
		}
	case CNITypeIBSRIOV:
		if s.IBSRIOV != nil {
			p = s.IBSRIOV.IPPools
		}
	case CNITypeIPoIB:
		if s.IPoIB != nil {
			p = s.IPoIB.IPPools
		}
	}
	if p == nil || (len(p.IPv4) == 0 && len(p.IPv6) == 0) {
		p = s.IPPools
	}
	if p == nil {
		return PoolsConfig{}
	}
	return *p
}

// Empty reports whether no pool is named.
func (p PoolsConfig) Empty() bool { return len(p.IPv4) == 0 && len(p.IPv6) == 0 }

// SubField is the JSON name of the spec field that holds cniType typ's
// sub-config (spec.macvlan, spec.ibsriov, ...); macvlan, the CRD's default,
// for a type it does not know.
func SubField(typ string) string {
	switch typ {
	case CNITypeIPVlan:
		return "ipvlan"
	case CNITypeSRIOV:
		return "sriov"
	case CNITypeIBSRIOV:
		return "ibsriov"
	case CNITypeIPoIB:
		return "ipoib"
	}
	return "macvlan"
}
