package controller

import (
	"context"
	"strings"
	"testing"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/railnet/railnet/api/scheme"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/nad"
)

func TestNeedsUpdate(t *testing.T) {
	mk := func(cfg string, labels, ann map[string]string) *nadv1.NetworkAttachmentDefinition {
		return &nadv1.NetworkAttachmentDefinition{ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: ann},
			Spec: nadv1.NetworkAttachmentDefinitionSpec{Config: cfg}}
	}
	managed := map[string]string{nad.LabelManagedBy: nad.ManagedBy}
	res := map[string]string{nad.AnnotationResourceName: "r"}
	tests := []struct {
		name      string
		cur, want *nadv1.NetworkAttachmentDefinition
		update    bool
	}{
		{"same", mk("a", managed, res), mk("a", managed, res), false},
		{"extra user label kept, no update", mk("a", map[string]string{nad.LabelManagedBy: nad.ManagedBy, "x": "y"}, res), mk("a", managed, res), false},
		{"config changed", mk("a", managed, nil), mk("b", managed, nil), true},
		{"label lost", mk("a", nil, nil), mk("a", managed, nil), true},
		{"resource changed", mk("a", managed, map[string]string{nad.AnnotationResourceName: "old"}), mk("a", managed, res), true},
		{"resource dropped", mk("a", managed, res), mk("a", managed, nil), true},
	}
	for _, tt := range tests {
		if got := NeedsUpdate(tt.cur, tt.want); got != tt.update {
			t.Errorf("%s: NeedsUpdate = %v, want %v", tt.name, got, tt.update)
		}
	}
}

func TestWantsLabel(t *testing.T) {
	for ann, want := range map[string]bool{
		spiderv2beta1.AnnotationRDMAResourceInject:    true,
		spiderv2beta1.AnnotationNetworkResourceInject: true,
		"other": false,
	} {
		if got := WantsLabel(map[string]string{ann: "g"}); got != want {
			t.Errorf("WantsLabel(%s) = %v", ann, got)
		}
	}
	if WantsLabel(nil) {
		t.Error("WantsLabel(nil) = true")
	}
}

// The reconciler tells, on the SpiderMultusConfig, what became of its
// NetworkAttachmentDefinition: created, updated, not railnet's, or not
// renderable.
func TestNADReconcilerEvents(t *testing.T) {
	typ := spiderv2beta1.CNITypeMacvlan
	mk := func(name string) *spiderv2beta1.SpiderMultusConfig {
		return &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: name, UID: types.UID("uid-" + name)},
			Spec: spiderv2beta1.MultusCNIConfigSpec{CNIType: &typ, Macvlan: &spiderv2beta1.MacvlanConfig{
				Master: []string{"enp11s0f0np0"}, IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{"gpu1-net11"}}}}}
	}
	ok, foreign, broken := mk("gpu1-macvlan"), mk("gpu2-macvlan"), mk("gpu3-macvlan")
	broken.Spec.Macvlan = nil
	theirs := &nadv1.NetworkAttachmentDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: "gpu2-macvlan"},
		Spec: nadv1.NetworkAttachmentDefinitionSpec{Config: `{"cniVersion":"1.0.0","type":"bridge"}`}}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(ok, foreign, broken, theirs).Build()
	rec := events.NewFakeRecorder(10)
	r := &NADReconciler{Client: c, Recorder: rec}
	ctx := context.Background()
	for _, smc := range []*spiderv2beta1.SpiderMultusConfig{ok, foreign, broken} {
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(smc)}); err != nil {
			t.Fatalf("%s: %v", smc.Name, err)
		}
	}
	// A change of the config updates railnet's definition.
	cur := &spiderv2beta1.SpiderMultusConfig{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ok), cur); err != nil {
		t.Fatal(err)
	}
	mtu := int32(1480)
	cur.Spec.Macvlan.MTU = &mtu
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ok)}); err != nil {
		t.Fatal(err)
	}
	close(rec.Events)
	var got []string
	for e := range rec.Events {
		got = append(got, e)
	}
	want := []string{
		"Normal NetworkAttachmentDefinitionCreated created NetworkAttachmentDefinition spiderpool/gpu1-macvlan",
		"Warning NetworkAttachmentDefinitionNotOwned NetworkAttachmentDefinition spiderpool/gpu2-macvlan exists and is not railnet's; " +
			"railnet leaves it alone, so pods naming this network get that definition, not this config: delete it (railnet then writes its own) or rename this SpiderMultusConfig",
		"Normal NetworkAttachmentDefinitionUpdated updated NetworkAttachmentDefinition spiderpool/gpu1-macvlan to this config",
	}
	if len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[3] != want[2] {
		t.Fatalf("events:\n%s", strings.Join(got, "\n"))
	}
	if !strings.HasPrefix(got[2], "Warning RenderFailed no NetworkAttachmentDefinition: SpiderMultusConfig spiderpool/gpu3-macvlan") ||
		!strings.Contains(got[2], "pods cannot use this network until the config is fixed") {
		t.Errorf("render failure event: %s", got[2])
	}
}
