package uninstall

import (
	"testing"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

func TestLabelRemoval(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"kubernetes.io/hostname": "w1"}, ""},
		{map[string]string{"kubernetes.io/hostname": "w1", "railnet.io/rail.3": "down", "railnet.io/rails-ready": "7", "railnet.io/rail.0": "up"},
			`{"metadata":{"labels":{"railnet.io/rail.0":null,"railnet.io/rail.3":null,"railnet.io/rails-ready":null}}}`},
		{map[string]string{"railnet.io/pool": "gpu1"}, ""}, // not a node label railnet keeps
	}
	for _, tt := range tests {
		if got := string(LabelRemoval(tt.labels, railnetv1.IsNodeLabel)); got != tt.want {
			t.Errorf("LabelRemoval(%v) = %s, want %s", tt.labels, got, tt.want)
		}
	}
}
