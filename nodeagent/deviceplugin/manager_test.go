package deviceplugin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"github.com/railnet/railnet/test/poll"
)

// This test binary points rdmamap at the 8-rail fixture, once.
func TestMain(m *testing.M) {
	if err := discovery.PointRdmamap(discoverytest.Fixture("rail8")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

type harness struct {
	nn      *discoverytest.Netns
	kubelet *fakeKubelet
	mgr     *Manager
	cfgPath string
	dir     string
}

// start runs a Manager with real discovery over a fixture and a veth netns,
// against a fake kubelet, with production intervals.
func start(t *testing.T, fixture, config string) *harness {
	t.Helper()
	h := &harness{nn: discoverytest.NewNetns(t, discoverytest.SeedNetdevs()...)}
	// Unix socket paths are limited to 107 bytes: t.TempDir() is too deep.
	base, err := os.MkdirTemp("", "dp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	h.dir = filepath.Join(base, "device-plugins")
	if err := os.MkdirAll(h.dir, 0o750); err != nil {
		t.Fatal(err)
	}
	h.cfgPath = filepath.Join(base, "config.json")
	h.writeConfig(t, config)
	h.kubelet = startFakeKubelet(t, h.dir)
	root := discoverytest.Fixture(fixture)
	nics := func() ([]railnetv1.NIC, error) {
		n, err := discovery.Discover(discovery.Options{SysfsRoot: root, Links: h.nn.Handle,
			NetnsMode: func() (string, error) { return "shared", nil }})
		if err != nil {
			return nil, err
		}
		return n.NICs, nil
	}
	var mgr *Manager
	mgr, err = New(Options{DevicePluginDir: h.dir, ConfigPath: h.cfgPath, NICs: nics, CharDevices: discovery.CharDevices})
	if err != nil {
		t.Fatal(err)
	}
	h.mgr = mgr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h
}

func (h *harness) writeConfig(t *testing.T, data string) {
	t.Helper()
	tmp := h.cfgPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, h.cfgPath); err != nil {
		t.Fatal(err)
	}
}

// waitKubelet waits until cond holds for the kubelet's view and returns how
// long it took.
func (h *harness) waitKubelet(t *testing.T, within time.Duration, what string, cond func(reg map[string]int, dev map[string][]*pluginapi.Device) bool) time.Duration {
	t.Helper()
	start := time.Now()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		reg, dev, changed := h.kubelet.state()
		if cond(reg, dev) {
			return time.Since(start)
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("after %v: %s did not happen; kubelet has registrations %v", within, what, reg)
		}
	}
}

func gpu(i int) string { return fmt.Sprintf("spidernet.io/shared_cx5_gpu%d", i) }

func allHealth(devs []*pluginapi.Device, health string) bool {
	if len(devs) == 0 {
		return false
	}
	for _, d := range devs {
		if d.Health != health {
			return false
		}
	}
	return true
}

func TestServesSeedResources(t *testing.T) {
	h := start(t, "rail8", seedConfig())
	h.waitKubelet(t, 10*time.Second, "8 resources with 100 healthy devices", func(reg map[string]int, dev map[string][]*pluginapi.Device) bool {
		for i := 1; i <= 8; i++ {
			if reg[gpu(i)] != 1 || len(dev[gpu(i)]) != 100 || !allHealth(dev[gpu(i)], pluginapi.Healthy) {
				return false
			}
		}
		return true
	})
	_, dev, _ := h.kubelet.state()
	for i := 1; i <= 8; i++ {
		topo := dev[gpu(i)][0].Topology
		wantNUMA := int64((i - 1) / 4)
		if topo == nil || len(topo.Nodes) != 1 || topo.Nodes[0].ID != wantNUMA {
			t.Errorf("%s topology %v, want NUMA %d", gpu(i), topo, wantNUMA)
		}
	}
	// The kubelet has the registration before the manager has the answer
	// to its Register call: wait for the manager's side too.
	poll.Until(t, 10*time.Second, "the manager reports its 8 resources registered", poll.True(func() bool {
		st := h.mgr.Status()
		for _, s := range st {
			if !s.Registered {
				return false
			}
		}
		return len(st) == 8
	}))
	st := h.mgr.Status()
	if len(st) != 8 || !reflect.DeepEqual(st[0].Netdevs, []string{"enp11s0f0np0"}) || !st[0].Healthy || !st[0].Registered {
		t.Errorf("status %+v", st)
	}
}

func TestPortDownIsUnhealthy(t *testing.T) {
	h := start(t, "downport", seedConfig())
	h.waitKubelet(t, 10*time.Second, "gpu4 (mlx5_3, port DOWN) unhealthy, gpu1 healthy", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return allHealth(dev[gpu(4)], pluginapi.Unhealthy) && allHealth(dev[gpu(1)], pluginapi.Healthy)
	})
}

func TestHealthFollowsLink(t *testing.T) {
	h := start(t, "rail8", seedConfig())
	h.waitKubelet(t, 10*time.Second, "gpu3 healthy", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return allHealth(dev[gpu(3)], pluginapi.Healthy)
	})
	h.nn.SetUp(t, "enp13s0f0np0", false)
	took := h.waitKubelet(t, 10*time.Second, "gpu3 unhealthy after its link went down", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return allHealth(dev[gpu(3)], pluginapi.Unhealthy) && allHealth(dev[gpu(2)], pluginapi.Healthy)
	})
	t.Logf("link down → Unhealthy in %v", took)
	h.nn.SetUp(t, "enp13s0f0np0", true)
	took = h.waitKubelet(t, 10*time.Second, "gpu3 healthy again", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return allHealth(dev[gpu(3)], pluginapi.Healthy)
	})
	t.Logf("link up → Healthy in %v", took)
}

func TestAllocate(t *testing.T) {
	h := start(t, "rail8", seedConfig())
	h.waitKubelet(t, 10*time.Second, "gpu1 and gpu2 registered", func(reg map[string]int, dev map[string][]*pluginapi.Device) bool {
		return len(dev[gpu(1)]) == 100 && len(dev[gpu(2)]) == 100
	})
	ctx := context.Background()
	tests := []struct {
		resource string
		ids      []string
		want     []string
		wantErr  string
	}{
		{gpu(1), []string{"shared_cx5_gpu1-0"}, []string{"/dev/infiniband/issm0", "/dev/infiniband/rdma_cm", "/dev/infiniband/umad0", "/dev/infiniband/uverbs0"}, ""},
		{gpu(2), []string{"shared_cx5_gpu2-7", "shared_cx5_gpu2-99"}, []string{"/dev/infiniband/rdma_cm", "/dev/infiniband/umad1", "/dev/infiniband/uverbs1"}, ""},
		{gpu(2), []string{"shared_cx5_gpu2-100"}, nil, `resource spidernet.io/shared_cx5_gpu2: unknown device ID "shared_cx5_gpu2-100"`},
	}
	for _, tc := range tests {
		resp, err := h.kubelet.client(tc.resource).Allocate(ctx, &pluginapi.AllocateRequest{
			ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: tc.ids}}})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %v: err %v, want %q", tc.resource, tc.ids, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.resource, err)
		}
		var got []string
		for _, d := range resp.ContainerResponses[0].Devices {
			if d.ContainerPath != d.HostPath || d.Permissions != "rw" {
				t.Errorf("device spec %+v", d)
			}
			got = append(got, d.ContainerPath)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: devices %v, want %v", tc.resource, got, tc.want)
		}
	}
}

func TestNoMatchingNIC(t *testing.T) {
	h := start(t, "rail8", `{"configList":[{"resourcePrefix":"spidernet.io","resourceName":"ghost","rdmaHcaMax":3,"selectors":{"ifNames":["enp99s0f0np0"]}}]}`)
	h.waitKubelet(t, 10*time.Second, "ghost registered with unhealthy devices", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return len(dev["spidernet.io/ghost"]) == 3 && allHealth(dev["spidernet.io/ghost"], pluginapi.Unhealthy)
	})
	_, err := h.kubelet.client("spidernet.io/ghost").Allocate(context.Background(), &pluginapi.AllocateRequest{
		ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"ghost-0"}}}})
	want := "resource spidernet.io/ghost: no RDMA NIC on this node matches its selectors; check the device plugin config and the node's NICs"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v, want %q", err, want)
	}
}

func TestReregistersAfterKubeletRestart(t *testing.T) {
	h := start(t, "rail8", seedConfig())
	h.waitKubelet(t, 10*time.Second, "first registration", func(reg map[string]int, dev map[string][]*pluginapi.Device) bool {
		for i := 1; i <= 8; i++ {
			if reg[gpu(i)] != 1 {
				return false
			}
		}
		return true
	})
	h.kubelet.restart(t)
	took := h.waitKubelet(t, 5*time.Second, "re-registration of all 8 resources", func(reg map[string]int, dev map[string][]*pluginapi.Device) bool {
		for i := 1; i <= 8; i++ {
			if reg[gpu(i)] != 2 {
				return false
			}
		}
		return true
	})
	t.Logf("re-registered in %v", took)
	// The new kubelet can use the plugins: their sockets were recreated.
	h.waitKubelet(t, 5*time.Second, "devices listed to the new kubelet", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return allHealth(dev[gpu(8)], pluginapi.Healthy)
	})
	if _, err := h.kubelet.client(gpu(8)).Allocate(context.Background(), &pluginapi.AllocateRequest{
		ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"shared_cx5_gpu8-1"}}}}); err != nil {
		t.Fatalf("Allocate after kubelet restart: %v", err)
	}
}

func TestConfigHotReload(t *testing.T) {
	h := start(t, "rail8", seedConfig())
	h.waitKubelet(t, 10*time.Second, "seed resources", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return len(dev[gpu(1)]) == 100
	})
	h.writeConfig(t, `{"configList":[{"resourcePrefix":"spidernet.io","resourceName":"shared_cx5_gpu1","rdmaHcaMax":50,"selectors":{"ifNames":["enp11s0f0np0"]}},
	 {"resourcePrefix":"spidernet.io","resourceName":"all_cx5","rdmaHcaMax":10,"selectors":{"vendors":["15b3"],"linkTypes":["ether"]}}]}`)
	h.waitKubelet(t, 10*time.Second, "gpu1 at 50 devices and all_cx5 registered", func(reg map[string]int, dev map[string][]*pluginapi.Device) bool {
		return len(dev[gpu(1)]) == 50 && len(dev["spidernet.io/all_cx5"]) == 10 && allHealth(dev["spidernet.io/all_cx5"], pluginapi.Healthy)
	})
	if st := h.mgr.Status(); len(st) != 2 || len(st[0].Netdevs) != 8 {
		t.Fatalf("status after reload %+v", st)
	}
	if _, err := os.Stat(filepath.Join(h.dir, socketName(gpu(5)))); !os.IsNotExist(err) {
		t.Errorf("removed resource gpu5 still has its socket: %v", err)
	}

	h.writeConfig(t, `{"configList":[{"resourceName":"x","selectors":{"linkType":["ether"]}}]}`)
	poll.Until(t, 10*time.Second, "the invalid config reported", poll.True(func() bool { return h.mgr.ConfigError() != nil }))
	if msg := h.mgr.ConfigError().Error(); !strings.Contains(msg, `unknown key "linkType"`) || !strings.Contains(msg, "the last good config stays in force") {
		t.Errorf("config error %q", msg)
	}
	if st := h.mgr.Status(); len(st) != 2 || st[1].Name != gpu(1) || st[1].Devices != 50 {
		t.Errorf("last good config not in force: %+v", st)
	}
}

// A resource whose selectors match every NIC (the chart's vendor-wide
// default) keeps serving while one NIC is down, and says which one is; its
// devices turn Unhealthy only when no matched NIC serves. A per-NIC
// resource on the down NIC turns Unhealthy at once.
func TestVendorWideResourceSurvivesOneNICDown(t *testing.T) {
	const all = "spidernet.io/all_cx5"
	h := start(t, "rail8", `{"configList":[{"resourcePrefix":"spidernet.io","resourceName":"shared_cx5_gpu3","rdmaHcaMax":10,"selectors":{"ifNames":["enp13s0f0np0"]}},
	 {"resourcePrefix":"spidernet.io","resourceName":"all_cx5","rdmaHcaMax":10,"selectors":{"vendors":["15b3"]}}]}`)
	h.waitKubelet(t, 10*time.Second, "both resources healthy", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return len(dev[all]) == 10 && allHealth(dev[all], pluginapi.Healthy) && allHealth(dev[gpu(3)], pluginapi.Healthy)
	})
	h.nn.SetUp(t, "enp13s0f0np0", false)
	h.waitKubelet(t, 10*time.Second, "gpu3 unhealthy, all_cx5 still healthy", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return len(dev[gpu(3)]) == 10 && allHealth(dev[gpu(3)], pluginapi.Unhealthy) && len(dev[all]) == 10 && allHealth(dev[all], pluginapi.Healthy)
	})
	status := func() map[string]ResourceStatus {
		out := map[string]ResourceStatus{}
		for _, s := range h.mgr.Status() {
			out[s.Name] = s
		}
		return out
	}
	if st := status(); !st[all].Healthy || !reflect.DeepEqual(st[all].Down, []string{"enp13s0f0np0"}) || len(st[all].Netdevs) != 8 ||
		st[gpu(3)].Healthy || !reflect.DeepEqual(st[gpu(3)].Down, []string{"enp13s0f0np0"}) {
		t.Errorf("status with enp13s0f0np0 down: %+v", st)
	}
	h.nn.SetUp(t, "enp13s0f0np0", true)
	h.waitKubelet(t, 10*time.Second, "gpu3 healthy again", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return allHealth(dev[gpu(3)], pluginapi.Healthy)
	})
	if st := status(); len(st[all].Down) != 0 {
		t.Errorf("all_cx5 still reports down NICs %v", st[all].Down)
	}
}

func TestHealthyWhileAnyNICServes(t *testing.T) {
	up := railnetv1.NIC{Netdev: "eth1", LinkState: "up", PortState: "ACTIVE"}
	linkDown := railnetv1.NIC{Netdev: "eth2", LinkState: "down", PortState: "ACTIVE"}
	portDown := railnetv1.NIC{Netdev: "eth3", RDMADevice: "mlx5_2", LinkState: "up", PortState: "DOWN"}
	tests := []struct {
		name    string
		nics    []railnetv1.NIC
		healthy bool
		down    []string
	}{
		{name: "no NIC", healthy: false},
		{name: "one up", nics: []railnetv1.NIC{up}, healthy: true},
		{name: "one of three up", nics: []railnetv1.NIC{linkDown, up, portDown}, healthy: true, down: []string{"eth2", "eth3"}},
		{name: "all down", nics: []railnetv1.NIC{linkDown, portDown}, healthy: false, down: []string{"eth2", "eth3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Healthy(tt.nics); got != tt.healthy {
				t.Errorf("Healthy = %v, want %v", got, tt.healthy)
			}
			if got := DownNICs(tt.nics); !reflect.DeepEqual(got, tt.down) {
				t.Errorf("DownNICs = %v, want %v", got, tt.down)
			}
			want := pluginapi.Unhealthy
			if tt.healthy {
				want = pluginapi.Healthy
			}
			slots := 2
			if devs := Devices(ResourceConfig{ResourceName: "r", RdmaHcaMax: &slots}, tt.nics); len(devs) != 2 || !allHealth(devs, want) {
				t.Errorf("devices not all %s", want)
			}
		})
	}
}

// waitConfigError polls ConfigError until check passes.
func (h *harness) waitConfigError(t *testing.T, what string, check func(error) bool) {
	t.Helper()
	poll.Until(t, 10*time.Second, what, func() error {
		if err := h.mgr.ConfigError(); !check(err) {
			return fmt.Errorf("config error %v", err)
		}
		return nil
	})
}

func TestInvalidConfigAtStartServesNothingUntilFixed(t *testing.T) {
	h := start(t, "rail8", `{"configList":[{"resourcePrefix":"spidernet.io","resourceName":"shared_cx5_gpu1","rdmaHcaMax":4611686018427387904,"selectors":{"ifNames":["enp11s0f0np0"]}}]}`)
	err := h.mgr.ConfigError()
	if err == nil || !strings.Contains(err.Error(), "rdmaHcaMax 4611686018427387904: at most") ||
		!strings.Contains(err.Error(), "no resource is served until it is fixed") {
		t.Fatalf("config error %v", err)
	}
	if st := h.mgr.Status(); len(st) != 0 {
		t.Fatalf("served %+v from an invalid config", st)
	}
	h.writeConfig(t, seedConfig())
	h.waitKubelet(t, 10*time.Second, "seed resources once fixed", func(_ map[string]int, dev map[string][]*pluginapi.Device) bool {
		return len(dev[gpu(1)]) == 100
	})
	h.waitConfigError(t, "error cleared", func(err error) bool { return err == nil })
}

func TestUnreadableConfigRecovers(t *testing.T) {
	h := start(t, "rail8", seedConfig())
	if err := os.Remove(h.cfgPath); err != nil {
		t.Fatal(err)
	}
	h.waitConfigError(t, "missing file reported", func(err error) bool {
		return err != nil && strings.Contains(err.Error(), "read "+h.cfgPath)
	})
	// The same content back (a ConfigMap remount): nothing to apply, and no
	// error left behind.
	h.writeConfig(t, seedConfig())
	h.waitConfigError(t, "error cleared", func(err error) bool { return err == nil })
	if st := h.mgr.Status(); len(st) != 8 {
		t.Errorf("resources %d, want the seed's 8", len(st))
	}
}
