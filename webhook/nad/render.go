package nad

import (
	"encoding/json"
	"fmt"
	"strings"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/cniconf"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

const (
	// AnnotationResourceName is Multus' annotation naming the device-plugin
	// resource a network's devices come from.
	AnnotationResourceName = "k8s.v1.cni.cncf.io/resourceName"
	// LabelManagedBy marks NADs that railnet renders.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is LabelManagedBy's value.
	ManagedBy = "railnet-webhook"
)

type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type macvlanPlugin struct {
	Type   string        `json:"type"`
	Master string        `json:"master"`
	Mode   string        `json:"mode"`
	MTU    *int32        `json:"mtu,omitempty"`
	IPAM   *cniconf.IPAM `json:"ipam,omitempty"`
}

type sriovPlugin struct {
	Type      string        `json:"type"`
	Vlan      *int32        `json:"vlan,omitempty"`
	MinTxRate *int32        `json:"min_tx_rate,omitempty"`
	MaxTxRate *int32        `json:"max_tx_rate,omitempty"`
	IPAM      *cniconf.IPAM `json:"ipam,omitempty"`
}

type ibSriovPlugin struct {
	Type                string        `json:"type"`
	Pkey                *string       `json:"pkey,omitempty"`
	LinkState           *string       `json:"link_state,omitempty"`
	RdmaIsolation       *bool         `json:"rdmaIsolation,omitempty"`
	IBKubernetesEnabled *bool         `json:"ibKubernetesEnabled,omitempty"`
	IPAM                *cniconf.IPAM `json:"ipam,omitempty"`
}

type ipoibPlugin struct {
	Type   string        `json:"type"`
	Master string        `json:"master"`
	IPAM   *cniconf.IPAM `json:"ipam,omitempty"`
}

type tuningPlugin struct {
	Type string `json:"type"`
	MTU  int32  `json:"mtu"`
}

// Render returns the NetworkAttachmentDefinition for smc, owned by it.
// smc is expected to have passed validation; a config whose cniType lacks
// its sub-config is an error naming what is missing.
func Render(smc *spiderv2beta1.SpiderMultusConfig) (*nadv1.NetworkAttachmentDefinition, error) {
	s := &smc.Spec
	var ipam *cniconf.IPAM
	if p := s.Pools(); !p.Empty() {
		ipam = &cniconf.IPAM{Type: cniconf.IPAMType, IPPools: cniconf.Pools{IPv4: p.IPv4, IPv6: p.IPv6}}
	}
	var ann map[string]string
	var plugins []any
	var rdmaMaster string
	missing := func() error {
		return fmt.Errorf("SpiderMultusConfig %s/%s: cniType %s has no matching sub-config", smc.Namespace, smc.Name, s.Type())
	}
	switch typ := s.Type(); typ {
	case spiderv2beta1.CNITypeMacvlan, spiderv2beta1.CNITypeIPVlan:
		c, mode := s.Macvlan, "bridge"
		if typ == spiderv2beta1.CNITypeIPVlan {
			c, mode = s.IPVlan, "l2"
		}
		if c == nil || len(c.Master) == 0 {
			return nil, missing()
		}
		// A config written before admission refused bond and vlanID (or
		// while the webhook was not answering) is not rendered onto a
		// bond or VLAN interface railnet never creates, which the
		// extender and the agent would not know as the rail's master.
		if bad := UnsupportedLinks("spec."+spiderv2beta1.SubField(typ), c); len(bad) > 0 {
			return nil, fmt.Errorf("SpiderMultusConfig %s/%s: %s", smc.Namespace, smc.Name, strings.Join(bad, "; "))
		}
		plugins = append(plugins, macvlanPlugin{Type: typ, Master: c.Master[0], Mode: mode, MTU: c.MTU, IPAM: ipam})
		if c.RDMAResourceName != "" {
			rdmaMaster = c.Master[0]
		}
	case spiderv2beta1.CNITypeSRIOV:
		c := s.SRIOV
		if c == nil {
			return nil, missing()
		}
		plugins = append(plugins, sriovPlugin{Type: "sriov", Vlan: c.VlanID, MinTxRate: c.MinTxRateMbps, MaxTxRate: c.MaxTxRateMbps, IPAM: ipam})
		if c.MTU != nil {
			plugins = append(plugins, tuningPlugin{Type: "tuning", MTU: *c.MTU})
		}
		ann = map[string]string{AnnotationResourceName: c.ResourceName}
	case spiderv2beta1.CNITypeIBSRIOV:
		c := s.IBSRIOV
		if c == nil {
			return nil, missing()
		}
		plugins = append(plugins, ibSriovPlugin{Type: "ib-sriov", Pkey: c.Pkey, LinkState: c.LinkState,
			RdmaIsolation: c.RdmaIsolation, IBKubernetesEnabled: c.IBKubernetesEnabled, IPAM: ipam})
		ann = map[string]string{AnnotationResourceName: c.ResourceName}
	case spiderv2beta1.CNITypeIPoIB:
		c := s.IPoIB
		if c == nil || c.Master == "" {
			return nil, missing()
		}
		plugins = append(plugins, ipoibPlugin{Type: "ipoib", Master: c.Master, IPAM: ipam})
	default:
		return nil, fmt.Errorf("SpiderMultusConfig %s/%s: cniType %q cannot be rendered", smc.Namespace, smc.Name, typ)
	}
	if s.EnableCoordinator == nil || *s.EnableCoordinator {
		co := cniconf.Coordinator{Type: cniconf.CoordinatorType}
		if c := s.Coordinator; c != nil {
			co.DetectGateway, co.DetectIPConflict = c.DetectGateway, c.DetectIPConflict
			co.PodDefaultRouteNIC, co.TunePodRoutes = c.PodDefaultRouteNIC, c.TunePodRoutes
		}
		co.RDMAMaster = rdmaMaster
		plugins = append(plugins, co)
	}
	cfg, err := json.MarshalIndent(conflist{CNIVersion: cniconf.CNIVersion, Name: smc.Name, Plugins: plugins}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal CNI config of %s/%s: %w", smc.Namespace, smc.Name, err)
	}
	yes := true
	return &nadv1.NetworkAttachmentDefinition{
		TypeMeta: metav1.TypeMeta{APIVersion: nadv1.SchemeGroupVersion.String(), Kind: "NetworkAttachmentDefinition"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   smc.Namespace,
			Name:        smc.Name,
			Labels:      map[string]string{LabelManagedBy: ManagedBy},
			Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: spiderv2beta1.GroupVersion.String(), Kind: "SpiderMultusConfig",
				Name: smc.Name, UID: smc.UID, Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
		Spec: nadv1.NetworkAttachmentDefinitionSpec{Config: string(cfg)},
	}, nil
}

// UnsupportedLinks says why a macvlan or ipvlan config's bond and vlanID
// (Spiderpool's ifacer settings) cannot be served, one message each, under
// field (spec.macvlan or spec.ipvlan): railnet's CNI chain creates no bond
// or VLAN interface. Admission refuses them; Render does not render them.
func UnsupportedLinks(field string, c *spiderv2beta1.MacvlanConfig) []string {
	var out []string
	if c.Bond != nil {
		out = append(out, fmt.Sprintf("%s.bond is not supported: railnet does not create bond interfaces; create the bond on every node "+
			"(e.g. with NetworkManager or systemd-networkd), name it in %s.master and remove %s.bond", field, field, field))
	}
	if c.VlanID != nil && *c.VlanID != 0 {
		example := "enp11s0f0np0"
		if len(c.Master) > 0 && c.Master[0] != "" {
			example = c.Master[0]
		}
		out = append(out, fmt.Sprintf("%s.vlanID %d is not supported: railnet does not create VLAN interfaces; create the VLAN interface on every node "+
			"(e.g. %s.%d), name it in %s.master and remove %s.vlanID", field, *c.VlanID, example, *c.VlanID, field, field))
	}
	return out
}
