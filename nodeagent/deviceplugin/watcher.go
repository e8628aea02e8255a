package deviceplugin

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// watcherRegistration answers the kubelet's plugin watcher for one
// resource: the kubelet finds the socket in plugins_registry, asks GetInfo,
// dials the device plugin endpoint and reports the outcome.
type watcherRegistration struct {
	registerapi.UnimplementedRegistrationServer
	name, endpoint string
	onStatus       func(registered bool, msg string)
}

func (w *watcherRegistration) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{
		Type: registerapi.DevicePlugin, Name: w.name, Endpoint: w.endpoint,
		SupportedVersions: []string{pluginapi.Version},
	}, nil
}

func (w *watcherRegistration) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	w.onStatus(st.PluginRegistered, st.Error)
	return &registerapi.RegistrationStatusResponse{}, nil
}

// regSocketName is a resource's socket in plugins_registry.
func regSocketName(fullName string) string { return socketName(fullName) }

// startWatcherLocked (re)creates the plugin-watcher registration socket of
// a resource; recreating it makes the kubelet register the plugin again.
func (m *Manager) startWatcherLocked(ctx context.Context, name string, s *served) error {
	if s.regServer != nil {
		s.regServer.Stop()
		s.regServer = nil
	}
	if err := os.MkdirAll(m.opts.PluginsRegistryDir, 0o750); err != nil {
		return fmt.Errorf("plugins registry dir: %w", err)
	}
	s.regSocket = filepath.Join(m.opts.PluginsRegistryDir, regSocketName(name))
	_ = os.Remove(s.regSocket)
	l, err := net.Listen("unix", s.regSocket)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.regSocket, err)
	}
	log := klog.FromContext(ctx)
	reg := &watcherRegistration{name: name, endpoint: s.socket, onStatus: func(ok bool, msg string) {
		m.mu.Lock()
		s.registered = ok
		m.mu.Unlock()
		if ok {
			log.Info("registered with the kubelet (plugin watcher)", "resource", name)
		} else {
			log.Error(nil, "the kubelet refused the device plugin", "resource", name, "reason", msg)
		}
	}}
	s.regServer = grpc.NewServer()
	registerapi.RegisterRegistrationServer(s.regServer, reg)
	go func(srv *grpc.Server) { _ = srv.Serve(l) }(s.regServer)
	s.regID, _ = statID(s.regSocket)
	s.registered = false
	return nil
}

// watchPluginWatcherLocked keeps the plugin and registration sockets in
// place; the kubelet's plugin watcher does the rest.
func (m *Manager) watchPluginWatcherLocked(ctx context.Context) {
	log := klog.FromContext(ctx)
	for name, s := range m.resources {
		restarted := false
		if id, ok := statID(s.socket); !ok || id != s.socketID || s.server == nil {
			if err := m.startLocked(ctx, name, s); err != nil {
				log.Error(err, "restart device plugin server", "resource", name)
				continue
			}
			restarted = true
		}
		if id, ok := statID(s.regSocket); restarted || !ok || id != s.regID || s.regServer == nil {
			if err := m.startWatcherLocked(ctx, name, s); err != nil {
				log.Error(err, "start plugin-watcher registration", "resource", name)
			}
		}
	}
}
