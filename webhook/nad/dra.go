package nad

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/cniconf"
	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
)

// LabelDRAGroup marks the objects railnet keeps for a DRA-mode inject
// group (its network, its claim templates); the value is the group.
const LabelDRAGroup = "railnet.io/dra-group"

// DRAPluginType is the CNI plugin of a DRA-mode group's network
// (nodeagent/cmd/railnet-dra-cni).
const DRAPluginType = "railnet-dra-cni"

type draPlugin struct {
	Type  string                     `json:"type"`
	Rails map[string]json.RawMessage `json:"rails"`
}

// RenderDRA returns the NetworkAttachmentDefinition of the DRA-mode inject
// group (drainject.NetworkName, in the members' namespace): one
// railnet-dra-cni plugin whose rails map each member's rail index — the
// position of its master among masters, the cluster's rail masters in rail
// order (spiderv2beta1.RailMasters), as the node agent numbers rails — to
// the configuration list Render makes of that member. Multus runs it for
// the group's pods, and it creates the rails their claim names. The
// network is owned by every member: it goes when the last one does.
func RenderDRA(group string, members []*spiderv2beta1.SpiderMultusConfig, masters []string) (*nadv1.NetworkAttachmentDefinition, error) {
	rails, err := DRARails(group, members, masters)
	if err != nil {
		return nil, err
	}
	ns := members[0].Namespace
	conf := map[string]json.RawMessage{}
	var owners []metav1.OwnerReference
	for _, r := range rails {
		one, err := Render(r.Config)
		if err != nil {
			return nil, err
		}
		conf[strconv.Itoa(r.Rail)] = json.RawMessage(one.Spec.Config)
		owners = append(owners, metav1.OwnerReference{APIVersion: spiderv2beta1.GroupVersion.String(), Kind: "SpiderMultusConfig",
			Name: r.Config.Name, UID: r.Config.UID})
	}
	name := drainject.NetworkName(group)
	cfg, err := json.MarshalIndent(conflist{CNIVersion: cniconf.CNIVersion, Name: name,
		Plugins: []any{draPlugin{Type: DRAPluginType, Rails: conf}}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal CNI config of %s/%s: %w", ns, name, err)
	}
	return &nadv1.NetworkAttachmentDefinition{
		TypeMeta: metav1.TypeMeta{APIVersion: nadv1.SchemeGroupVersion.String(), Kind: "NetworkAttachmentDefinition"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       ns,
			Name:            name,
			Labels:          map[string]string{LabelManagedBy: ManagedBy, LabelDRAGroup: group},
			OwnerReferences: owners,
		},
		Spec: nadv1.NetworkAttachmentDefinitionSpec{Config: string(cfg)},
	}, nil
}

// DRARail is one member of a DRA-mode group with its rail index.
type DRARail struct {
	Rail   int
	Config *spiderv2beta1.SpiderMultusConfig
}

// DRARails assigns each member of a DRA-mode group its rail index (the
// position of its first master among masters), in rail order, or says why
// the group cannot have one network: no member, members in several
// namespaces, a member without a rail master, two members on one rail. The
// admission handler refuses the group's pods with the same words.
func DRARails(group string, members []*spiderv2beta1.SpiderMultusConfig, masters []string) ([]DRARail, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("inject group %q has no SpiderMultusConfig", group)
	}
	members = slices.Clone(members)
	injectgroup.SortConfigs(members) // rail order
	ns := members[0].Namespace
	var out []DRARail
	for _, smc := range members {
		ref := smc.Namespace + "/" + smc.Name
		if smc.Namespace != ns {
			return nil, fmt.Errorf("inject group %q (DRA mode) has SpiderMultusConfigs in namespaces %s and %s; its one network lives beside them: keep them in one namespace", group, ns, smc.Namespace)
		}
		m := smc.Spec.Masters()
		rail := -1
		if len(m) > 0 {
			rail = slices.Index(masters, m[0])
		}
		if rail < 0 {
			return nil, fmt.Errorf("SpiderMultusConfig %s of inject group %q (DRA mode) names no rail master; DRA mode makes each claimed rail from the macvlan or ipvlan config on its NIC: set spec.macvlan.master", ref, group)
		}
		if i := slices.IndexFunc(out, func(r DRARail) bool { return r.Rail == rail }); i >= 0 {
			other := out[i].Config
			return nil, fmt.Errorf("SpiderMultusConfigs %s/%s and %s of inject group %q (DRA mode) are both on rail %d (master %s); keep one config per rail in the group", other.Namespace, other.Name, ref, group, rail, m[0])
		}
		out = append(out, DRARail{Rail: rail, Config: smc})
	}
	return out, nil
}

// RailMasters are the rail masters of configs, in rail order
// (spiderv2beta1.RailMasters).
func RailMasters(configs []*spiderv2beta1.SpiderMultusConfig) []string {
	specs := make([]*spiderv2beta1.MultusCNIConfigSpec, len(configs))
	for i, c := range configs {
		specs[i] = &c.Spec
	}
	return spiderv2beta1.RailMasters(specs)
}
