package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/railnet/railnet/api/scheme"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/nad"
)

// railConfigs are the seed's 8 rails in group, mode as given ("" none).
func railConfigs(ns, group, mode string) []*spiderv2beta1.SpiderMultusConfig {
	var out []*spiderv2beta1.SpiderMultusConfig
	for i := 1; i <= 8; i++ {
		typ := spiderv2beta1.CNITypeMacvlan
		smc := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-gpu%d", group, i),
			UID: types.UID(fmt.Sprintf("uid-%s-%d", group, i)), Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: group}},
			Spec: spiderv2beta1.MultusCNIConfigSpec{CNIType: &typ, Macvlan: &spiderv2beta1.MacvlanConfig{
				Master: []string{fmt.Sprintf("enp1%ds0f0np0", i)}, IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{fmt.Sprintf("gpu%d-net1%d", i, i)}}}}}
		if mode != "" {
			smc.Annotations[drainject.ModeAnnotation] = mode
		}
		out = append(out, smc)
	}
	return out
}

func namespace(name string, ann map[string]string) corev1.Namespace {
	return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann}}
}

func keys[T client.Object](objs []T) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetNamespace()+"/"+o.GetName())
	}
	slices.Sort(out)
	return out
}

func TestPlanDRA(t *testing.T) {
	dp := railConfigs("spiderpool", "rdma-network", "")
	dra := railConfigs("spiderpool", "pairs", drainject.ModeDRA)
	mixed := railConfigs("spiderpool", "mixed", drainject.ModeDRA)
	delete(mixed[2].Annotations, drainject.ModeAnnotation)
	inject := spiderv2beta1.AnnotationRDMAResourceInject
	tpls := func(ns, g string) []string {
		var out []string
		for k := 1; k <= drainject.MaxGPUs; k++ {
			out = append(out, ns+"/"+drainject.TemplateName(g, k))
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name          string
		configs       []*spiderv2beta1.SpiderMultusConfig
		namespaces    []corev1.Namespace
		wantNetworks  []string
		wantTemplates []string
		wantProblem   string
	}{
		{"device-plugin groups only: nothing", dp, []corev1.Namespace{namespace("train", map[string]string{inject: "rdma-network"})}, nil, nil, ""},
		{"a DRA group: its network; templates where a namespace names it", slices.Concat(dp, dra),
			[]corev1.Namespace{namespace("train", map[string]string{inject: "pairs"}), namespace("batch", map[string]string{drainject.TemplatesAnnotation: "rdma-network, pairs"}),
				namespace("other", map[string]string{inject: "rdma-network"}), namespace("plain", nil)},
			[]string{"spiderpool/railnet-dra-pairs"}, slices.Concat(tpls("batch", "pairs"), tpls("train", "pairs")), ""},
		{"both annotations naming the group: one set", dra,
			[]corev1.Namespace{namespace("train", map[string]string{inject: "pairs", drainject.TemplatesAnnotation: "pairs"})},
			[]string{"spiderpool/railnet-dra-pairs"}, tpls("train", "pairs"), ""},
		{"a mixed group gets nothing and says why", mixed, []corev1.Namespace{namespace("train", map[string]string{inject: "mixed"})}, nil, nil,
			`inject group "mixed" mixes modes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanDRA(tt.configs, tt.namespaces, "gpu.nvidia.com", "rails.railnet.io")
			if n := keys(got.Networks); !slices.Equal(n, tt.wantNetworks) {
				t.Errorf("networks %v, want %v", n, tt.wantNetworks)
			}
			if tp := keys(got.Templates); !slices.Equal(tp, tt.wantTemplates) {
				t.Errorf("templates %v, want %v", tp, tt.wantTemplates)
			}
			if tt.wantProblem == "" && len(got.Problems) > 0 || tt.wantProblem != "" && (len(got.Problems) != 1 || !strings.Contains(got.Problems[0], tt.wantProblem)) {
				t.Errorf("problems %q, want %q", got.Problems, tt.wantProblem)
			}
			for _, tpl := range got.Templates {
				if tpl.Labels[nad.LabelDRAGroup] == "" || len(tpl.Spec.Spec.Devices.Requests) == 0 {
					t.Errorf("template %s/%s: labels %v, %d requests", tpl.Namespace, tpl.Name, tpl.Labels, len(tpl.Spec.Spec.Devices.Requests))
				}
			}
		})
	}
}

// The reconciler creates what PlanDRA wants, leaves objects that are not
// railnet's alone, and deletes its own when the group leaves DRA mode.
func TestDRAReconciler(t *testing.T) {
	configs := railConfigs("spiderpool", "pairs", drainject.ModeDRA)
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "train", Annotations: map[string]string{drainject.TemplatesAnnotation: "pairs"}}},
		// The user's own template of a name railnet would use: kept.
		&resourceapi.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "railnet-pairs-8"}},
	}
	for _, c := range configs {
		objs = append(objs, c)
	}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...).Build()
	r := &DRAReconciler{Client: c, GPUClass: "gpu.nvidia.com", RailClass: "rails.railnet.io"}
	ctx := context.Background()
	if _, err := r.Reconcile(ctx, ctrl.Request{}); err != nil {
		t.Fatal(err)
	}
	var n nadv1.NetworkAttachmentDefinition
	if err := c.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: "railnet-dra-pairs"}, &n); err != nil {
		t.Fatal(err)
	}
	if len(n.OwnerReferences) != 8 || !strings.Contains(n.Spec.Config, `"type": "railnet-dra-cni"`) {
		t.Errorf("network: owners %d, config %s", len(n.OwnerReferences), n.Spec.Config)
	}
	var tl resourceapi.ResourceClaimTemplateList
	if err := c.List(ctx, &tl, client.InNamespace("train")); err != nil {
		t.Fatal(err)
	}
	if len(tl.Items) != 8 {
		t.Fatalf("%d templates in train, want 8", len(tl.Items))
	}
	for _, tpl := range tl.Items {
		if tpl.Name == "railnet-pairs-8" && tpl.Labels[nad.LabelManagedBy] != "" {
			t.Error("the user's railnet-pairs-8 was replaced")
		}
	}
	// Idempotent.
	if _, err := r.Reconcile(ctx, ctrl.Request{}); err != nil {
		t.Fatal(err)
	}
	// The group leaves DRA mode: railnet's network and templates go.
	for _, smc := range configs {
		cur := &spiderv2beta1.SpiderMultusConfig{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(smc), cur); err != nil {
			t.Fatal(err)
		}
		delete(cur.Annotations, drainject.ModeAnnotation)
		if err := c.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Reconcile(ctx, ctrl.Request{}); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, &tl, client.InNamespace("train")); err != nil {
		t.Fatal(err)
	}
	if len(tl.Items) != 1 || tl.Items[0].Name != "railnet-pairs-8" {
		t.Errorf("templates left %v, want only the user's", keys(ptrs(tl.Items)))
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: "railnet-dra-pairs"}, &n); err == nil {
		t.Error("the network of a group no longer in DRA mode is still there")
	}
}

func ptrs(items []resourceapi.ResourceClaimTemplate) []*resourceapi.ResourceClaimTemplate {
	out := make([]*resourceapi.ResourceClaimTemplate, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
