package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/state"
	"github.com/railnet/railnet/extender/state/statetest"
)

const gpu1 corev1.ResourceName = "spidernet.io/shared_cx5_gpu1"

// testWorld: node up has its rail up, node down has it down.
func testWorld() *statetest.MemStore {
	hb := metav1.Now()
	s := &statetest.MemStore{
		Nodes: map[string]*corev1.Node{}, RDMANodes: map[string]*railnetv1.RDMANode{},
		Pools: map[string]*spiderv2beta1.SpiderIPPool{"gpu1-net11": {ObjectMeta: metav1.ObjectMeta{Name: "gpu1-net11"},
			Spec: spiderv2beta1.IPPoolSpec{Subnet: "172.16.11.0/24", IPs: []string{"172.16.11.1-172.16.11.100"}}}},
	}
	smc := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: "gpu1-macvlan"}}
	smc.Spec.Macvlan = &spiderv2beta1.MacvlanConfig{Master: []string{"eth1"}, RDMAResourceName: string(gpu1),
		IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{"gpu1-net11"}}}
	s.SMCs = append(s.SMCs, smc)
	for name, link := range map[string]string{"up": "up", "down": "down"} {
		s.Nodes[name] = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{gpu1: resource.MustParse("10")}}}
		s.RDMANodes[name] = &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: railnetv1.RDMANodeStatus{
			NetnsMode: "shared", HeartbeatTime: &hb, NICs: []railnetv1.NIC{{Netdev: "eth1", LinkState: link}}}}
	}
	return s
}

func testHandler(t testing.TB) http.Handler {
	d := state.NewDecider(testWorld(), time.Minute, 30*time.Second, placement.DefaultTopology)
	return New(d, Options{MaxBodyBytes: 64 << 10})
}

const rdmaPod = `{"metadata":{"name":"w0","namespace":"train","uid":"u1","annotations":{"k8s.v1.cni.cncf.io/networks":"spiderpool/gpu1-macvlan"}},` +
	`"spec":{"containers":[{"name":"c","resources":{"limits":{"spidernet.io/shared_cx5_gpu1":"1"}}}]}}`

func post(t testing.TB, h http.Handler, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The scheduler's wire format: Go field names, no json tags.
func TestFilterWire(t *testing.T) {
	h := testHandler(t)
	rec := post(t, h, "/filter", `{"Pod":`+rdmaPod+`,"Nodes":null,"NodeNames":["up","down","ghost"]}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if names := got["NodeNames"].([]any); len(names) != 1 || names[0] != "up" {
		t.Fatalf("NodeNames %v, want [up]; body %s", names, rec.Body)
	}
	unres := got["FailedAndUnresolvableNodes"].(map[string]any)
	if r := unres["down"].(string); r != "rail spiderpool/gpu1-macvlan: NIC eth1 is down on this node (link down); bring the link up or drain the node" {
		t.Fatalf("reason for down: %q", r)
	}
	if r := unres["ghost"].(string); r != "this node is unknown to the railnet extender (deleted, or its cache has not seen it yet)" {
		t.Fatalf("reason for ghost: %q", r)
	}
	if got["Error"] != "" {
		t.Fatalf("Error %q", got["Error"])
	}
}

// Without nodeCacheCapable the scheduler sends Nodes and expects Nodes back.
func TestFilterNodesList(t *testing.T) {
	rec := post(t, testHandler(t), "/filter", `{"Pod":`+rdmaPod+`,"Nodes":{"items":[{"metadata":{"name":"down"}},{"metadata":{"name":"up"}}]}}`)
	var res struct {
		Nodes     corev1.NodeList
		NodeNames *[]string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Nodes.Items) != 1 || res.Nodes.Items[0].Name != "up" || res.NodeNames != nil {
		t.Fatalf("body %s", rec.Body)
	}
}

func TestPrioritizeWire(t *testing.T) {
	rec := post(t, testHandler(t), "/prioritize", `{"Pod":`+rdmaPod+`,"NodeNames":["up","down"]}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	var got []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["Host"] != "up" || got[1]["Host"] != "down" {
		t.Fatalf("body %s", rec.Body)
	}
	for _, g := range got {
		if s := g["Score"].(float64); s < 0 || s > 10 {
			t.Fatalf("score out of 0..10: %s", rec.Body)
		}
	}
}

func TestBadRequests(t *testing.T) {
	h := testHandler(t)
	big := `{"Pod":` + rdmaPod + `,"NodeNames":["` + strings.Repeat("n", 70<<10) + `"]}`
	tests := []struct {
		name, path, ctype, body, want string
	}{
		{"not JSON", "/filter", "application/json", `{"Pod":`, "ExtenderArgs is not valid JSON"},
		{"no pod", "/filter", "application/json", `{"NodeNames":["a"]}`, "ExtenderArgs has no Pod"},
		{"no nodes", "/prioritize", "application/json", `{"Pod":` + rdmaPod + `}`, "ExtenderArgs names no nodes: set NodeNames (nodeCacheCapable) or Nodes"},
		{"empty node name", "/filter", "application/json", `{"Pod":` + rdmaPod + `,"NodeNames":[""]}`, "ExtenderArgs node 0 has an empty name"},
		{"trailing data", "/filter", "application/json", `{"Pod":` + rdmaPod + `,"NodeNames":["a"]} {}`, "ExtenderArgs is followed by more data"},
		{"wrong type", "/filter", "application/json", `{"Pod":` + rdmaPod + `,"NodeNames":"a"}`, "ExtenderArgs is not valid JSON"},
		{"oversized", "/filter", "application/json", big, "ExtenderArgs larger than 65536 bytes"},
		{"content type", "/filter", "text/plain", `{}`, `Content-Type "text/plain" is not application/json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("HTTP %d, want 400: %s", rec.Code, rec.Body)
			}
			var body struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if !strings.Contains(body.Error, tt.want) {
				t.Fatalf("Error %q, want it to contain %q", body.Error, tt.want)
			}
		})
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	var healthErr error
	reg := prometheus.NewRegistry()
	d := state.NewDecider(testWorld(), time.Minute, time.Minute, placement.DefaultTopology)
	h := New(d, Options{Registry: reg, Healthy: func() error { return healthErr }})
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	if rec := get("/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("healthz %d", rec.Code)
	}
	healthErr = errTooLarge
	if rec := get("/healthz"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "not ready") {
		t.Fatalf("healthz %d %s", rec.Code, rec.Body)
	}
	post(t, h, "/filter", `{"Pod":`+rdmaPod+`,"NodeNames":["up","down"]}`)
	post(t, h, "/filter", `garbage`)
	body := get("/metrics").Body.String()
	for _, want := range []string{
		`railnet_extender_requests_total{code="200",verb="filter"} 1`,
		`railnet_extender_requests_total{code="400",verb="filter"} 1`,
		`railnet_extender_node_verdicts_total{reason="nic-down",verdict="unresolvable"} 1`,
		`railnet_extender_node_verdicts_total{reason="none",verdict="passed"} 1`,
		`railnet_extender_request_duration_seconds_count{verb="filter"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

func FuzzDecodeArgs(f *testing.F) {
	f.Add([]byte(`{"Pod":` + rdmaPod + `,"NodeNames":["up","down"]}`))
	f.Add([]byte(`{"Pod":{"metadata":{"name":"x"}},"Nodes":{"items":[{"metadata":{"name":"a"}}]}}`))
	f.Add([]byte(`{"Pod":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"Pod":` + rdmaPod + `,"NodeNames":["up","x","down"],"Nodes":null}`))
	h := testHandler(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The usual request's decode reads only what the general one
		// reads alike.
		checkUsual(t, data, nil)
		checkUsual(t, data, plain("up", "down"))
		args, names, err := DecodeArgs(strings.NewReader(string(data)), 64<<10)
		if err != nil {
			if args != nil || names != nil {
				t.Fatalf("error %v with a result", err)
			}
		} else if args.Pod == nil {
			t.Fatal("no error and no pod")
		}
		// Whatever arrives, the server answers 200 or 400 and never panics.
		for _, path := range []string{"/filter", "/prioritize"} {
			rec := post(t, h, path, string(data))
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("%s: HTTP %d for %q", path, rec.Code, data)
			}
			if (err == nil) != (rec.Code == http.StatusOK) {
				t.Fatalf("%s: HTTP %d but decode error %v", path, rec.Code, err)
			}
		}
	})
}
