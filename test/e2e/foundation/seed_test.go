package foundation

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var (
	poolGVK = schema.GroupVersionKind{Group: "spiderpool.spidernet.io", Version: "v2beta1", Kind: "SpiderIPPool"}
	smcGVK  = schema.GroupVersionKind{Group: "spiderpool.spidernet.io", Version: "v2beta1", Kind: "SpiderMultusConfig"}
)

// The seed guide's YAML, verbatim, must reach etcd with the seed's own field
// placements intact: the API server prunes fields a CRD schema does not
// know, and the webhook can only normalise what survives.
func TestSeedYAMLAppliesWithSeedFormsIntact(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cluster.EnsureNamespace(t, "spiderpool")

	tests := []struct {
		file  string
		smc   string
		paths map[string]any // field path (dot-separated) → expected value
	}{
		{
			file: "step3-pool-and-macvlan-config.yaml",
			smc:  "gpu1-macvlan",
			paths: map[string]any{
				"spec.rdmaResourceName":     "spidernet.io/shared_cx5_gpu1",
				"spec.macvlan.master":       []any{"enp11s0f0np0"},
				"spec.macvlan.ippools.ipv4": []any{"gpu1-net11"},
			},
		},
		{
			file: "step3-macvlan-config-mtu.yaml",
			smc:  "gpu1-macvlan",
			paths: map[string]any{
				"spec.rdmaResourceName": "spidernet.io/shared_cx5_gpu1",
				"spec.macvlan.mtu":      int64(1480),
			},
		},
		{
			file: "webhook-pool-and-inject-config.yaml",
			smc:  "gpu1-sriov",
			paths: map[string]any{
				"spec.ippools.ipv4":             []any{"gpu1-net11"},
				"spec.macvlan.enableRdma":       true,
				"spec.macvlan.rdmaResourceName": "spidernet.io/gpu1rdma",
				"metadata.annotations.cni\\.spidernet\\.io/rdma-resource-inject": "rdma-network",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seed", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cluster.Apply(ctx, data); err != nil {
				t.Fatalf("the seed's YAML was refused: %v", err)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(smcGVK)
			if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: tt.smc}, got); err != nil {
				t.Fatal(err)
			}
			for path, want := range tt.paths {
				v, found, err := unstructured.NestedFieldNoCopy(got.Object, splitPath(path)...)
				if err != nil || !found {
					t.Errorf("%s: field %s was dropped by the API server (found=%v, err=%v); object: %v", tt.smc, path, found, err, got.Object["spec"])
					continue
				}
				if !reflect.DeepEqual(v, want) {
					t.Errorf("%s: field %s = %#v, want %#v", tt.smc, path, v, want)
				}
			}
		})
	}

	// The pool's seed spelling survives too, including its non-canonical
	// subnet (the webhook normalises it later, with a warning).
	pool := &unstructured.Unstructured{}
	pool.SetGroupVersionKind(poolGVK)
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: "gpu1-net11"}, pool); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{
		"spec.subnet":  "172.16.11.0/16",
		"spec.gateway": "172.16.11.254",
		"spec.ips":     []any{"172.16.11.1-172.16.11.200"},
	} {
		v, _, _ := unstructured.NestedFieldNoCopy(pool.Object, splitPath(path)...)
		if !reflect.DeepEqual(v, want) {
			t.Errorf("gpu1-net11: %s = %#v, want %#v", path, v, want)
		}
	}
}
