package deviceplugin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"github.com/railnet/railnet/test/poll"
)

// watcherRegister does what the kubelet's plugin watcher does with one
// registration socket: GetInfo, dial the endpoint, read the device list,
// report success. It returns the plugin info and the device count.
func watcherRegister(t *testing.T, regSock string) (*registerapi.PluginInfo, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := grpc.NewClient("unix://"+regSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reg := registerapi.NewRegistrationClient(conn)
	info, err := reg.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatalf("GetInfo on %s: %v", regSock, err)
	}
	pc, err := grpc.NewClient("unix://"+info.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	stream, err := pluginapi.NewDevicePluginClient(pc).ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("ListAndWatch on %s: %v", info.Endpoint, err)
	}
	if _, err := reg.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	return info, len(resp.Devices)
}

func TestPluginWatcherRegistration(t *testing.T) {
	nn := discoverytest.NewNetns(t, discoverytest.SeedNetdevs()...)
	base, err := os.MkdirTemp("", "dpw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	cfgPath := filepath.Join(base, "config.json")
	if err := os.WriteFile(cfgPath, []byte(seedConfig()), 0o644); err != nil {
		t.Fatal(err)
	}
	regDir := filepath.Join(base, "plugins_registry")
	nics := func() ([]railnetv1.NIC, error) {
		n, err := discovery.Discover(discovery.Options{SysfsRoot: discoverytest.Fixture("rail8"), Links: nn.Handle})
		if err != nil {
			return nil, err
		}
		return n.NICs, nil
	}
	mgr, err := New(Options{DevicePluginDir: filepath.Join(base, "device-plugins"), PluginsRegistryDir: regDir,
		ConfigPath: cfgPath, NICs: nics, CharDevices: discovery.CharDevices})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	regSock := filepath.Join(regDir, socketName(gpu(1)))
	waitFile(t, regSock, 5*time.Second)
	info, n := watcherRegister(t, regSock)
	if info.Type != registerapi.DevicePlugin || info.Name != gpu(1) || info.SupportedVersions[0] != "v1beta1" || n != 100 {
		t.Fatalf("plugin info %+v with %d devices", info, n)
	}
	waitRegistered(t, mgr, gpu(1), 5*time.Second)

	// A restarting kubelet clears device-plugins/: the plugin socket comes
	// back and the registration socket is recreated so the watcher
	// registers the plugin again.
	before, _ := statID(regSock)
	if err := os.Remove(info.Endpoint); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 10*time.Second, "the plugin socket and a new registration socket after the plugin socket was removed", poll.True(func() bool {
		id, ok := statID(regSock)
		_, err := os.Stat(info.Endpoint)
		return ok && err == nil && id != before
	}))
	if _, n := watcherRegister(t, regSock); n != 100 {
		t.Fatalf("%d devices after re-registration", n)
	}
	waitRegistered(t, mgr, gpu(1), 5*time.Second)
}

func waitFile(t *testing.T, path string, within time.Duration) {
	t.Helper()
	poll.Until(t, within, path+" created", func() error { _, err := os.Stat(path); return err })
}

func waitRegistered(t *testing.T, m *Manager, name string, within time.Duration) {
	t.Helper()
	poll.Until(t, within, name+" registered", func() error {
		for _, st := range m.Status() {
			if st.Name == name && st.Registered {
				return nil
			}
		}
		return fmt.Errorf("status %+v", m.Status())
	})
}
