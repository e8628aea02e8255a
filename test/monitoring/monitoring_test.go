package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/certs/serving"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/server"
	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	agentmetrics "github.com/railnet/railnet/nodeagent/metrics"
	"github.com/railnet/railnet/test/poll"
	webhookmetrics "github.com/railnet/railnet/webhook/metrics"
)

// This test binary points rdmamap at the 8-rail fixture, once.
func TestMain(m *testing.M) {
	if err := discovery.PointRdmamap(discoverytest.Fixture("rail8")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func chartFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ChartDir(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gather(t *testing.T, cs ...prometheus.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cs...)
	return reg
}

func addRegistry(t *testing.T, c Catalogue, reg prometheus.Gatherer, values bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	c.AddFamilies(fams, values)
}

// catalogue is what railnet's components export, read from their own
// collectors fed the 8-rail fixture and driven through the code paths that
// set their label values. Label values a test had to make up (a webhook
// refusal reason, an inject group) are kept as label names only.
func catalogue(t *testing.T) Catalogue {
	t.Helper()
	c := Catalogue{}

	// The node agent: NICs of the fixture, its sysfs counters, two device
	// plugin resources (one unhealthy, unregistered), the RDMANode sync.
	var nics []railnetv1.NIC
	for i := range 8 {
		rail := int32(i)
		nics = append(nics, railnetv1.NIC{Netdev: fmt.Sprintf("enp%ds0f0np0", 11+i), RDMADevice: fmt.Sprintf("mlx5_%d", i), Port: 1,
			PortState: "ACTIVE", LinkState: "up", MTU: 9000, SpeedMbps: 200000, GIDTableSize: 255, GIDTableUsed: 4, Rail: &rail})
	}
	nics = append(nics, railnetv1.NIC{Netdev: "eth0", LinkState: "up"})
	agent := agentmetrics.New("gpu-node-1", agentmetrics.Sources{
		NICs:     func() []railnetv1.NIC { return nics },
		Counters: discovery.PortCounters,
		Resources: func() []agentmetrics.Resource {
			return []agentmetrics.Resource{{Name: "spidernet.io/shared_cx5_gpu1", Devices: 100, Healthy: true, Registered: true},
				{Name: "spidernet.io/shared_cx5_gpu2", Devices: 100}}
		},
		LastSync: time.Now,
	})
	ipam := agentmetrics.NewIPAM("gpu-node-1")
	ipam.Allocated("gpu1-net11")
	ipam.Released("gpu1-net11", agentmetrics.ReleasedByCNI)
	ipam.Released("gpu1-net11", agentmetrics.ReleasedByGC)
	ipam.SetPools([]agentmetrics.PoolUse{{Pool: "gpu1-net11", Capacity: 200, Used: 1}})
	addRegistry(t, c, gather(t, agent, ipam), true)

	// The webhook.
	wm := webhookmetrics.New()
	wm.Request("mutate", "Pod", "allowed", time.Millisecond)
	wm.Injected("rdma-network")
	wm.Refused("made-up")
	addRegistry(t, c, wm.Registry, false)

	// The certificate source of the webhook and the extender, with a
	// served certificate and a CA loaded.
	addRegistry(t, c, gather(t, certSource(t)), true)

	// The extender's handler answering one filter call of the scheduler.
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(server.New(decider{}, server.Options{Registry: reg}))
	defer srv.Close()
	nodes := []string{"gpu-node-1", "gpu-node-2", "gpu-node-3"}
	body, _ := json.Marshal(extenderv1.ExtenderArgs{Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}, NodeNames: &nodes})
	resp, err := http.Post(srv.URL+"/filter", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("extender filter: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := c.AddText(resp.Body); err != nil {
		t.Fatal(err)
	}
	return c
}

// decider passes one node, fails one and finds one unresolvable.
type decider struct{}

func (decider) Filter(_ *corev1.Pod, nodes []string) placement.Result {
	return placement.Result{Passed: nodes[:1], Failed: map[string]string{nodes[1]: "RDMA slots in use"},
		Unresolvable: map[string]string{nodes[2]: "rail down"}}
}

func (decider) Prioritize(*corev1.Pod, []string) []placement.HostScore { return nil }

func certSource(t *testing.T) *serving.Source {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.NewCA("railnet-ca", now, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := pki.IssueServing(ca, pki.ServingRequest{CommonName: "railnet-webhook", DNSNames: []string{"railnet-webhook"}, Validity: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	cfg := serving.Config{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), CAFile: filepath.Join(dir, "ca.crt")}
	for path, data := range map[string][]byte{cfg.CertFile: leaf.CertPEM, cfg.KeyFile: leaf.KeyPEM, cfg.CAFile: ca.CertPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := serving.New(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	poll.Until(t, 10*time.Second, "the certificate files loaded", poll.True(s.Healthy))
	return s
}

func checkAll(t *testing.T, qs []Query, c Catalogue) {
	t.Helper()
	if len(qs) == 0 {
		t.Fatal("no queries found")
	}
	for _, q := range qs {
		for _, err := range Check(q, c) {
			t.Error(err)
		}
	}
}

// Every query of the chart's dashboard parses and reads only what the
// components export.
func TestDashboardQueriesUseExportedMetrics(t *testing.T) {
	qs, err := DashboardQueries(chartFile(t, "dashboards/railnet-rdma.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, qs, catalogue(t))
	// Every component has a panel.
	all := ""
	for _, q := range qs {
		all += q.Expr + "\n"
	}
	for _, prefix := range []string{"railnet_rdma_", "railnet_nic_", "railnet_deviceplugin_", "railnet_ipam_pool_",
		"railnet_ipam_allocation_failures_total", "railnet_webhook_", "railnet_extender_", "railnet_certificate_"} {
		if !strings.Contains(all, prefix) {
			t.Errorf("the dashboard has no panel on %s*", prefix)
		}
	}
}

// Every alert parses, reads only what the components export, and says
// what to do.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	rules, err := ParseRules(chartFile(t, "rules/railnet.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, rules.Queries(), catalogue(t))
	want := map[string]bool{"RailnetCertificateExpiring": true, "RailnetRailDown": true, "RailnetRDMANodeStale": true,
		"RailnetPoolAlmostFull": true, "RailnetDevicePluginUnregistered": true, "RailnetWebhookRefusalsSpiking": true}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			delete(want, r.Alert)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" || r.For == "" {
				t.Errorf("alert %s lacks a severity, summary, description or for", r.Alert)
			}
		}
	}
	for a := range want {
		t.Errorf("no alert %s", a)
	}
}

// ChartQueries finds the dashboard's panels and variable and every alert.
func TestChartQueries(t *testing.T) {
	qs, err := ChartQueries(ChartDir())
	if err != nil {
		t.Fatal(err)
	}
	dash, _ := DashboardQueries(chartFile(t, "dashboards/railnet-rdma.json"))
	rules, _ := ParseRules(chartFile(t, "rules/railnet.rules.yaml"))
	if len(qs) != len(dash)+len(rules.Queries()) || len(dash) < 20 {
		t.Errorf("%d chart queries, want %d dashboard + %d alert queries", len(qs), len(dash), len(rules.Queries()))
	}
	names, err := QueryMetrics(Query{Expr: `max by (pool) (railnet_ipam_pool_used_addresses) / max by (pool) (railnet_ipam_pool_capacity_addresses)`})
	if err != nil || strings.Join(names, " ") != "railnet_ipam_pool_used_addresses railnet_ipam_pool_capacity_addresses" {
		t.Errorf("QueryMetrics = %v, %v", names, err)
	}
}

// The checker itself catches what it is for: the old dashboard's
// health="Healthy", a metric nobody exports, a label a metric lacks, a
// legend printing a label the result dropped, and a query that does not
// parse.
func TestCheckCatchesMistakes(t *testing.T) {
	c := catalogue(t)
	for _, tc := range []struct {
		q    Query
		want string
	}{
		{Query{Expr: `sum by (resource) (railnet_deviceplugin_devices{health="Healthy"})`}, `no component exports health="Healthy" (seen: [healthy unhealthy])`},
		{Query{Expr: `rate(railnet_rdma_port_rcv_data_total[5m])`}, `metric "railnet_rdma_port_rcv_data_total" is exported by no railnet component`},
		{Query{Expr: `railnet_nic_speed_bytes_per_second{pool="x"}`}, `has no label "pool"`},
		{Query{Expr: `sum by (pool) (railnet_nic_link_up)`}, `none of the series aggregated has label "pool"`},
		{Query{Expr: `sum by (node) (railnet_nic_link_up)`, Prints: []string{"rail"}}, `prints label "rail"`},
		{Query{Expr: `sum(rate(railnet_webhook_refusals_total[$__rate_interval]))`}, `does not parse`},
		{Query{Expr: `railnet_webhook_refusals_total{reason="made-up"}`}, `no component exports reason="made-up"`},
		{Query{Expr: `railnet_ipam_allocation_failures_total{reason=~"exhaust.*|full"}`}, ``},
		{Query{Expr: `railnet_ipam_allocation_failures_total{reason=~"full"}`}, `matches no value`},
	} {
		errs := Check(tc.q, c)
		if tc.want == "" {
			if len(errs) > 0 {
				t.Errorf("%s: %v", tc.q.Expr, errs)
			}
			continue
		}
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), tc.want) {
			t.Errorf("%s: errors %v, want one saying %q", tc.q.Expr, errs, tc.want)
		}
	}
}
