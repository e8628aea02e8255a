package admission

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

const seedPoolYAML = `
apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderIPPool
metadata:
  name: gpu1-net11
spec:
  gateway: 172.16.11.254
  subnet: 172.16.11.0/16
  ips:
    - 172.16.11.1-172.16.11.200
`

func seedPool(t testing.TB) *spiderv2beta1.SpiderIPPool {
	t.Helper()
	var p spiderv2beta1.SpiderIPPool
	if err := yaml.Unmarshal([]byte(seedPoolYAML), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestServeHTTPPools(t *testing.T) {
	store := seedStore()
	store.inUse = map[string][]netip.Addr{"gpu1-net11": {netip.MustParseAddr("172.16.11.150")}}
	h := &Handler{Store: store}
	pool := seedPool(t)

	_, body := post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
		review(t, "p1", poolKind, admissionv1.Create, "", "gpu1-net11", pool, nil))
	patch := `[{"op":"add","path":"/spec/ipVersion","value":4},{"op":"replace","path":"/spec/subnet","value":"172.16.0.0/16"}]`
	want := `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"p1","allowed":true,"patch":"` +
		base64.StdEncoding.EncodeToString([]byte(patch)) + `","patchType":"JSONPatch","warnings":["SpiderIPPool gpu1-net11: spec.subnet 172.16.11.0/16 is not a network address; normalised to 172.16.0.0/16 (network address 172.16.0.0)"]}}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("create: body =\n%s\nwant\n%s", got, want)
	}

	shrunk := pool.DeepCopy()
	shrunk.Spec.IPs = []string{"172.16.11.1-172.16.11.100"}
	_, body = post(t, Endpoint("validate", h.Validate, nil), "application/json",
		review(t, "p2", poolKind, admissionv1.Update, "", "gpu1-net11", shrunk, pool))
	want = `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"p2","allowed":false,"status":{"metadata":{},"status":"Failure","message":"SpiderIPPool gpu1-net11: the change removes addresses still allocated to pods: 172.16.11.150; delete those pods first or keep the addresses in spec.ips","reason":"invalid-ippool","code":403}}}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("shrink: body =\n%s\nwant\n%s", got, want)
	}

	_, body = post(t, Endpoint("validate", h.Validate, nil), "application/json",
		review(t, "p3", poolKind, admissionv1.Delete, "", "gpu1-net11", nil, pool))
	want = `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"p3","allowed":false,"status":{"metadata":{},"status":"Failure","message":"SpiderIPPool gpu1-net11 still has 1 allocated address(es): 172.16.11.150; delete the pods using them first","reason":"ippool-in-use","code":403}}}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("delete: body =\n%s\nwant\n%s", got, want)
	}

	other := pool.DeepCopy()
	other.Name = "gpu1-net11-b"
	other.Spec.Subnet = "172.16.0.0/16"
	store.pools = []spiderv2beta1.SpiderIPPool{*pool}
	_, body = post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
		review(t, "p4", poolKind, admissionv1.Create, "", other.Name, other, nil))
	want = `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"p4","allowed":false,"status":{"metadata":{},"status":"Failure","message":"SpiderIPPool gpu1-net11-b: its addresses 172.16.11.1-172.16.11.200 are also SpiderIPPool gpu1-net11's (spec.subnet 172.16.11.0/16, spec.ips 172.16.11.1-172.16.11.200); one address belongs to one pool: change spec.ips or spec.excludeIPs of one of them","reason":"invalid-ippool","code":403}}}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("overlap: body =\n%s\nwant\n%s", got, want)
	}

	// The same refusal of a pool as written (spec.subnet not a network
	// address) keeps the normalisation warning, as a SpiderMultusConfig's
	// refusal keeps its moves'.
	written := pool.DeepCopy()
	written.Name = "gpu1-net11-c"
	_, body = post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
		review(t, "p5", poolKind, admissionv1.Create, "", written.Name, written, nil))
	want = `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"p5","allowed":false,"status":{"metadata":{},"status":"Failure","message":"SpiderIPPool gpu1-net11-c: its addresses 172.16.11.1-172.16.11.200 are also SpiderIPPool gpu1-net11's (spec.subnet 172.16.11.0/16, spec.ips 172.16.11.1-172.16.11.200); one address belongs to one pool: change spec.ips or spec.excludeIPs of one of them","reason":"invalid-ippool","code":403},` +
		`"warnings":["SpiderIPPool gpu1-net11-c: spec.subnet 172.16.11.0/16 is not a network address; normalised to 172.16.0.0/16 (network address 172.16.0.0)"]}}`
	if got := strings.TrimSpace(body); got != want {
		t.Errorf("overlap of a pool as written: body =\n%s\nwant\n%s", got, want)
	}
}

func applyPatch(t testing.TB, pod *corev1.Pod, patch []byte) *corev1.Pod {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return decodePod(t, string(applyJSONPatch(t, raw, patch)))
}

// The seed's pools as written (172.16.1N.0/16, every one the network
// 172.16.0.0/16) put the eight rails of group rdma-network on one subnet:
// admitting a pool or a config of the group warns, naming the pools and
// suggesting each rail's /24; per-rail /24 pools draw no warning.
func TestSharedSubnetAcrossRailsWarns(t *testing.T) {
	store := seedStore()
	for n := 2; n <= 8; n++ {
		store.pools = append(store.pools, spiderv2beta1.SpiderIPPool{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("gpu%d-net1%d", n, n)},
			Spec: spiderv2beta1.IPPoolSpec{Subnet: "172.16.0.0/16", Gateway: ptr.To(fmt.Sprintf("172.16.1%d.254", n)),
				IPs: []string{fmt.Sprintf("172.16.1%d.1-172.16.1%d.200", n, n)}}})
	}
	h := &Handler{Store: store}
	resp, _ := decodeReview(t, func() string {
		_, body := post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
			review(t, "p1", poolKind, admissionv1.Create, "", "gpu1-net11", seedPool(t), nil))
		return body
	}())
	want := "SpiderIPPool gpu1-net11: in inject group rdma-network, SpiderIPPool gpu1-net11 (rail enp11s0f0np0, 172.16.0.0/16) overlaps the subnets of other rails: " +
		"gpu2-net12 (rail enp12s0f0np0, 172.16.0.0/16)"
	if !resp.Allowed || len(resp.Warnings) != 2 || !strings.HasPrefix(resp.Warnings[1], want) ||
		!strings.Contains(resp.Warnings[1], "give each rail's pool its own subnet (e.g. spec.subnet gpu1-net11 172.16.11.0/24, gpu2-net12 172.16.12.0/24") {
		t.Errorf("pool warnings %q\nwant the normalisation warning, then one starting %q", resp.Warnings, want)
	}

	store.pools = append(store.pools, *seedPool(t))
	store.pools[len(store.pools)-1].Spec.Subnet = "172.16.0.0/16"
	resp, _ = decodeReview(t, func() string {
		_, body := post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
			review(t, "c1", smcKind, admissionv1.Update, "spiderpool", "gpu3-sriov", store.configs[2], store.configs[2]))
		return body
	}())
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.HasPrefix(resp.Warnings[0],
		"SpiderMultusConfig spiderpool/gpu3-sriov: in inject group rdma-network, SpiderIPPool gpu3-net13 (rail enp13s0f0np0, 172.16.0.0/16) overlaps") {
		t.Errorf("config warnings %q", resp.Warnings)
	}

	for i := range store.pools {
		p := &store.pools[i]
		p.Spec.Subnet = strings.TrimSuffix(*p.Spec.Gateway, ".254") + ".0/24"
	}
	resp, _ = decodeReview(t, func() string {
		_, body := post(t, Endpoint("mutate", h.Mutate, nil), "application/json",
			review(t, "c2", smcKind, admissionv1.Update, "spiderpool", "gpu3-sriov", store.configs[2], store.configs[2]))
		return body
	}())
	if !resp.Allowed || len(resp.Warnings) != 0 {
		t.Errorf("per-rail /24 pools: warnings %q, want none", resp.Warnings)
	}
}
