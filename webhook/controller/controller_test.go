package controller

import (
	"testing"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
