package nad

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/cniconf"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
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
	if len(members) == 0 {
		return nil, fmt.Errorf("inject group %q has no SpiderMultusConfig", group)
	}
	members = slices.Clone(members)
	inject.SortConfigs(members) // rail order: owners in a stable order
	ns := members[0].Namespace
	rails := map[string]json.RawMessage{}
	by := map[string]string{}
	var owners []metav1.OwnerReference
	for _, smc := range members {
		ref := smc.Namespace + "/" + smc.Name
		if smc.Namespace != ns {
			return nil, fmt.Errorf("inject group %q (DRA mode) has SpiderMultusConfigs in namespaces %s and %s; its one network lives beside them: keep them in one namespace", group, ns, smc.Namespace)
		}
		m := smc.Spec.Masters()
		rail := -1
		for i, x := range masters {
			if len(m) > 0 && x == m[0] {
				rail = i
			}
		}
		if rail < 0 {
			return nil, fmt.Errorf("SpiderMultusConfig %s of inject group %q (DRA mode) names no rail master; DRA mode makes each claimed rail from the macvlan or ipvlan config on its NIC: set spec.macvlan.master", ref, group)
		}
		key := strconv.Itoa(rail)
		if other, dup := by[key]; dup {
			return nil, fmt.Errorf("SpiderMultusConfigs %s and %s of inject group %q (DRA mode) are both on rail %d (master %s); keep one config per rail in the group", other, ref, group, rail, m[0])
		}
		one, err := Render(smc)
		if err != nil {
			return nil, err
		}
		rails[key], by[key] = json.RawMessage(one.Spec.Config), ref
		owners = append(owners, metav1.OwnerReference{APIVersion: spiderv2beta1.GroupVersion.String(), Kind: "SpiderMultusConfig",
			Name: smc.Name, UID: smc.UID})
	}
	name := drainject.NetworkName(group)
	cfg, err := json.MarshalIndent(conflist{CNIVersion: cniconf.CNIVersion, Name: name,
		Plugins: []any{draPlugin{Type: DRAPluginType, Rails: rails}}}, "", "  ")
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
