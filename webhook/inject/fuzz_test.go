package inject

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/api/injectgroup/injectgrouptest"
)

// FuzzPodIdempotent: for any pod, Pod either refuses, or its output is a
// fixed point (a second run changes nothing and does not refuse).
// Run longer with: go test ./webhook/inject -fuzz FuzzPodIdempotent
func FuzzPodIdempotent(f *testing.F) {
	f.Add([]byte(`{"metadata":{"namespace":"train","annotations":{"cni.spidernet.io/rdma-resource-inject":"rdma-network"}},"spec":{"containers":[{"name":"a"}]}}`))
	f.Add([]byte(`{"metadata":{"namespace":"train","annotations":{"cni.spidernet.io/rdma-resource-inject":"rdma-network","k8s.v1.cni.cncf.io/networks":"spiderpool/gpu1-macvlan"}},"spec":{"containers":[{"name":"a","resources":{"limits":{"nvidia.com/gpu":"1"}}},{"name":"b"}]}}`))
	f.Add([]byte(`{"metadata":{"annotations":{"cni.spidernet.io/network-resource-inject":" ,rdma-network,"}},"spec":{}}`))
	configs := injectgrouptest.Seed()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var p corev1.Pod
		if err := json.Unmarshal(raw, &p); err != nil {
			return
		}
		_, err := Pod(&p, nil, enabled, configs)
		var r *Refusal
		if err != nil {
			if !errors.As(err, &r) || r.Message == "" || r.Reason == "" {
				t.Fatalf("error is not a refusal with a message: %v", err)
			}
			return
		}
		again := p.DeepCopy()
		if _, err := Pod(again, nil, enabled, configs); err != nil {
			t.Fatalf("second run refused its own output: %v", err)
		}
		if !reflect.DeepEqual(again, &p) {
			t.Fatalf("second run changed the pod")
		}
	})
}
