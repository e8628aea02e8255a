package drainject

import (
	"os"
	"strings"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/railnet/railnet/api/railsdra"
)

// The documented pairwise template (charts/railnet/docs/examples) is what
// PairedClaimTemplate builds for k = 2.
func TestPairedClaimTemplateIsTheDocumentedOne(t *testing.T) {
	f, err := os.Open("../../charts/railnet/docs/examples/dra-claim-template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var doc *resourceapi.ResourceClaimTemplate
	for {
		var tpl resourceapi.ResourceClaimTemplate
		if err := dec.Decode(&tpl); err != nil {
			break
		}
		if tpl.Name == "gpu-rail-pairs-2" {
			doc = &tpl
		}
	}
	if doc == nil {
		t.Fatal("the example file has no gpu-rail-pairs-2 template")
	}
	got, err := PairedClaimTemplate("train", "gpu-rail-pairs-2", "gpu.nvidia.com", railsdra.DeviceClassName, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(got.Spec, doc.Spec) {
		t.Errorf("PairedClaimTemplate(2) = %+v\nthe documented template = %+v", got.Spec, doc.Spec)
	}
}

func TestPairedClaimTemplate(t *testing.T) {
	tests := []struct {
		k               int
		wantRequests    int
		wantConstraints int
		wantErr         string
	}{
		{k: 1, wantRequests: 2, wantConstraints: 1},
		{k: 4, wantRequests: 8, wantConstraints: 5},
		{k: 0, wantErr: "ResourceClaimTemplate train/t: 0 GPUs; a paired claim needs at least 1 GPU"},
	}
	for _, tt := range tests {
		tpl, err := PairedClaimTemplate("train", "t", "gpu.nvidia.com", railsdra.DeviceClassName, tt.k)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("k=%d: error %v, want %q", tt.k, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		d := tpl.Spec.Spec.Devices
		if len(d.Requests) != tt.wantRequests || len(d.Constraints) != tt.wantConstraints {
			t.Errorf("k=%d: %d requests, %d constraints; want %d, %d", tt.k, len(d.Requests), len(d.Constraints), tt.wantRequests, tt.wantConstraints)
		}
	}
}
