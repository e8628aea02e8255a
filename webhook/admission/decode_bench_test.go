//go:build decodebench

// Behind a build tag: controller-runtime's admission package adds about
// 1 MiB of live heap to the test binary, which every GC cycle of the other
// benchmarks (make bench-webhook) would mark. Run it with
// go test -tags decodebench -run '^$' -bench Decode -benchmem ./webhook/admission

package admission

import (
	"encoding/json"
	"testing"

	gojson "github.com/goccy/go-json"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	ctrladmission "sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// BenchmarkDecode compares, object by object, the decoding the webhook
// does (goccy/go-json into podFields for pods, encoding/json for the
// CRDs) with controller-runtime's admission.Decoder (the apimachinery
// universal deserializer: a pass to find apiVersion/kind, then
// sigs.k8s.io/json into the typed object), on the objects the apiserver
// sends (apiVersion and kind set). The numbers are in doc.go.
func BenchmarkDecode(b *testing.B) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	if err := spiderv2beta1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	dec := ctrladmission.NewDecoder(scheme)
	marshal := func(v any) []byte {
		raw, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	pod := seedPod(map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"})
	smc := seedStore().configs[0]
	smc.TypeMeta = metav1.TypeMeta{APIVersion: spiderv2beta1.GroupVersion.String(), Kind: "SpiderMultusConfig"}
	pool := seedPool(b)
	for _, c := range []struct {
		name string
		raw  []byte
		own  func([]byte) error
		into func() runtime.Object
	}{
		{"pod", marshal(pod), func(raw []byte) error { var f podFields; return gojson.Unmarshal(raw, &f) },
			func() runtime.Object { return &corev1.Pod{} }},
		{"SpiderMultusConfig", marshal(smc), func(raw []byte) error { var o spiderv2beta1.SpiderMultusConfig; return json.Unmarshal(raw, &o) },
			func() runtime.Object { return &spiderv2beta1.SpiderMultusConfig{} }},
		{"SpiderIPPool", marshal(pool), func(raw []byte) error { var o spiderv2beta1.SpiderIPPool; return json.Unmarshal(raw, &o) },
			func() runtime.Object { return &spiderv2beta1.SpiderIPPool{} }},
	} {
		b.Run(c.name+"/own", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.own(c.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/controller-runtime", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := dec.DecodeRaw(runtime.RawExtension{Raw: c.raw}, c.into()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
