package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
)

// memStore fills the Store from plain values (unit tests only).
type memStore struct {
	cfg     inject.Config
	nsAnn   map[string]map[string]string
	configs []*spiderv2beta1.SpiderMultusConfig
	pools   []spiderv2beta1.SpiderIPPool
	inUse   map[string][]netip.Addr
	// templates holds the ResourceClaimTemplates ("namespace/name") that
	// exist; noDRA makes the store answer as a webhook without DRA mode.
	templates map[string]bool
	noDRA     bool
	err       error
}

func (m *memStore) InjectConfig(context.Context) (inject.Config, error) { return m.cfg, m.err }
func (m *memStore) NamespaceAnnotations(_ context.Context, ns string) (map[string]string, error) {
	return m.nsAnn[ns], m.err
}
func (m *memStore) MultusConfigs(context.Context) ([]*spiderv2beta1.SpiderMultusConfig, error) {
	return m.configs, m.err
}
func (m *memStore) IPPools(context.Context) ([]spiderv2beta1.SpiderIPPool, error) {
	return m.pools, m.err
}
func (m *memStore) AllocatedIPs(_ context.Context, pool string) ([]netip.Addr, error) {
	return m.inUse[pool], m.err
}

func (m *memStore) ClaimTemplateExists(_ context.Context, ns, name string) (bool, error) {
	if m.noDRA {
		return false, drainject.ErrDisabled
	}
	return m.templates[ns+"/"+name], m.err
}

type countRecorder struct {
	requests map[string]int
	injected map[string]int
	refused  map[string]int
}

func newCountRecorder() *countRecorder {
	return &countRecorder{requests: map[string]int{}, injected: map[string]int{}, refused: map[string]int{}}
}
func (c *countRecorder) Request(endpoint, kind, outcome string, _ time.Duration) {
	c.requests[endpoint+"/"+kind+"/"+outcome]++
}
func (c *countRecorder) Injected(g string) { c.injected[g]++ }
func (c *countRecorder) Refused(r string)  { c.refused[r]++ }

// seedStore has the seed scenario's eight rails in group rdma-network.
func seedStore() *memStore {
	var configs []*spiderv2beta1.SpiderMultusConfig
	for n := 1; n <= 8; n++ {
		typ := spiderv2beta1.CNITypeMacvlan
		configs = append(configs, &spiderv2beta1.SpiderMultusConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: fmt.Sprintf("gpu%d-sriov", n),
				Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}},
			Spec: spiderv2beta1.MultusCNIConfigSpec{CNIType: &typ, Macvlan: &spiderv2beta1.MacvlanConfig{
				Master:           []string{fmt.Sprintf("enp1%ds0f0np0", n)},
				RDMAResourceName: fmt.Sprintf("spidernet.io/gpu%drdma", n),
				IPPools:          &spiderv2beta1.PoolsConfig{IPv4: []string{fmt.Sprintf("gpu%d-net1%d", n, n)}},
			}},
		})
	}
	return &memStore{cfg: inject.Config{Enabled: true}, configs: configs}
}

func review(t testing.TB, uid string, kind metav1.GroupVersionKind, op admissionv1.Operation, ns, name string, obj, old runtime.Object) []byte {
	t.Helper()
	req := &admissionv1.AdmissionRequest{UID: types.UID(uid), Kind: kind, Operation: op, Namespace: ns, Name: name}
	if obj != nil {
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		req.Object.Raw = raw
	}
	if old != nil {
		raw, err := json.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		req.OldObject.Raw = raw
	}
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t testing.TB, h http.Handler, contentType string, body []byte) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// decodeReview reads a response body and its patch.
func decodeReview(t testing.TB, body string) (*admissionv1.AdmissionResponse, []map[string]any) {
	t.Helper()
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("response is not an AdmissionReview: %v\n%s", err, body)
	}
	var ops []map[string]any
	if len(out.Response.Patch) > 0 {
		if err := json.Unmarshal(out.Response.Patch, &ops); err != nil {
			t.Fatal(err)
		}
	}
	return out.Response, ops
}

var errBoom = errors.New("cache not synced")
