package deviceplugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/klog/v2"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// NICSource returns the node's NICs as last discovered.
type NICSource func() ([]railnetv1.NIC, error)

// CharDevicesFunc returns an RDMA device's /dev/infiniband nodes.
type CharDevicesFunc func(rdmaDevice string) []string

// Options configure a Manager.
type Options struct {
	// DevicePluginDir is <kubelet root>/device-plugins, holding kubelet.sock
	// and the plugin sockets.
	DevicePluginDir string
	// PluginsRegistryDir is <kubelet root>/plugins_registry. When set, the
	// plugins register through the kubelet's plugin watcher (a registration
	// socket per resource there) instead of calling kubelet.sock.
	PluginsRegistryDir string
	// ConfigPath is config.json (a mounted ConfigMap key); re-read on change.
	ConfigPath  string
	NICs        NICSource
	CharDevices CharDevicesFunc
	// HealthInterval is how often NIC health is re-read (default 2s).
	HealthInterval time.Duration
	// WatchInterval is how often kubelet.sock, the plugin sockets and the
	// config file are checked (default 1s).
	WatchInterval time.Duration
}

// ResourceStatus is what the manager serves for one resource.
type ResourceStatus struct {
	Name       string   // prefix/name
	Netdevs    []string // matched NICs
	Down       []string // matched NICs whose link or RDMA port is down
	Devices    int
	Healthy    bool
	Registered bool
}

// Manager runs one device plugin server per configured resource.
type Manager struct {
	opts Options

	mu         sync.Mutex
	cfg        *Config
	cfgData    []byte
	cfgErr     error
	resources  map[string]*served // by full name
	kubeletID  fileID
	lastDevErr error
}

type served struct {
	res        *resource
	socket     string
	server     *grpc.Server
	socketID   fileID
	registered bool
	// plugin-watcher mode
	regServer *grpc.Server
	regSocket string
	regID     fileID
}

// fileID identifies a file (a socket) so a recreated one is noticed.
type fileID struct {
	ino   uint64
	mtime time.Time
}

func statID(path string) (fileID, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	id := fileID{mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id, true
}

// New reads the config; an invalid config at start-up is an error.
func New(opts Options) (*Manager, error) {
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = 2 * time.Second
	}
	if opts.WatchInterval <= 0 {
		opts.WatchInterval = time.Second
	}
	if opts.NICs == nil || opts.CharDevices == nil {
		return nil, errors.New("device plugin: NICs and CharDevices are required")
	}
	data, err := os.ReadFile(opts.ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("read device plugin config %s: %w", opts.ConfigPath, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.ConfigPath, err)
	}
	return &Manager{opts: opts, cfg: cfg, cfgData: data, resources: map[string]*served{}}, nil
}

// ConfigError is the error of the last config reload, nil when the file in
// force is the file on disk.
func (m *Manager) ConfigError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfgErr
}

// Config returns the config in force.
func (m *Manager) Config() *Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

// Status lists the served resources, sorted by name.
func (m *Manager) Status() []ResourceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ResourceStatus, 0, len(m.resources))
	for name, s := range m.resources {
		cfg, nics, _ := s.res.snapshot()
		st := ResourceStatus{Name: name, Devices: cfg.MaxSlots(), Healthy: Healthy(nics), Down: DownNICs(nics), Registered: s.registered}
		for _, n := range nics {
			st.Netdevs = append(st.Netdevs, n.Netdev)
		}
		out = append(out, st)
	}
	sortStatus(out)
	return out
}

func sortStatus(s []ResourceStatus) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Name < s[j-1].Name; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Run serves until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("deviceplugin")
	ctx = klog.NewContext(ctx, log)
	if err := os.MkdirAll(m.opts.DevicePluginDir, 0o750); err != nil {
		return fmt.Errorf("device plugin dir: %w", err)
	}
	m.mu.Lock()
	m.applyLocked(ctx, m.cfg)
	m.mu.Unlock()
	m.refreshHealth(ctx)
	m.watch(ctx)

	health := time.NewTicker(m.opts.HealthInterval)
	defer health.Stop()
	watch := time.NewTicker(m.opts.WatchInterval)
	defer watch.Stop()
	for {
		select {
		case <-ctx.Done():
			m.mu.Lock()
			for name, s := range m.resources {
				m.stopLocked(name, s)
			}
			m.mu.Unlock()
			return nil
		case <-health.C:
			m.refreshHealth(ctx)
		case <-watch.C:
			m.reloadConfig(ctx)
			m.watch(ctx)
		}
	}
}

// refreshHealth matches the current NICs to every resource.
func (m *Manager) refreshHealth(ctx context.Context) {
	nics, err := m.opts.NICs()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if m.lastDevErr == nil || m.lastDevErr.Error() != err.Error() {
			klog.FromContext(ctx).Error(err, "read NICs; devices keep their last state")
		}
		m.lastDevErr = err
		return
	}
	m.lastDevErr = nil
	for name, s := range m.resources {
		cfg, before, _ := s.res.snapshot()
		after := Select(cfg.Selectors, nics)
		s.res.update(cfg, after)
		logDown(ctx, name, before, after)
	}
}

// logDown logs a change of a resource's down NICs: which are down, and
// whether the resource still serves.
func logDown(ctx context.Context, name string, before, after []railnetv1.NIC) {
	was, now := DownNICs(before), DownNICs(after)
	if slices.Equal(was, now) {
		return
	}
	log := klog.FromContext(ctx)
	switch {
	case len(now) == 0:
		log.Info("all NICs of the resource serve again", "resource", name, "nics", len(after))
	case Healthy(after):
		log.Info("NICs of the resource are down; it stays healthy while the others serve",
			"resource", name, "down", now, "serving", len(after)-len(now))
	default:
		log.Info("every NIC of the resource is down; its devices are Unhealthy", "resource", name, "down", now)
	}
}

// reloadConfig applies a changed config file; an invalid one is refused and
// the last good config stays in force.
func (m *Manager) reloadConfig(ctx context.Context) {
	log := klog.FromContext(ctx)
	data, err := os.ReadFile(m.opts.ConfigPath)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if m.cfgErr == nil {
			log.Error(err, "read device plugin config; keeping the last good config", "path", m.opts.ConfigPath)
		}
		m.cfgErr = fmt.Errorf("read %s: %w", m.opts.ConfigPath, err)
		return
	}
	if bytes.Equal(data, m.cfgData) {
		return
	}
	m.cfgData = data
	cfg, err := ParseConfig(data)
	if err != nil {
		m.cfgErr = fmt.Errorf("%s: %w; the last good config stays in force", m.opts.ConfigPath, err)
		log.Error(err, "refused the new device plugin config; the last good config stays in force", "path", m.opts.ConfigPath)
		return
	}
	m.cfgErr = nil
	m.cfg = cfg
	log.Info("applying the new device plugin config", "path", m.opts.ConfigPath, "resources", len(cfg.ConfigList))
	m.applyLocked(ctx, cfg)
	nics, err := m.opts.NICs()
	if err == nil {
		for _, s := range m.resources {
			c, _, _ := s.res.snapshot()
			s.res.update(c, Select(c.Selectors, nics))
		}
	}
}

// applyLocked starts, updates and stops resources to match cfg.
func (m *Manager) applyLocked(ctx context.Context, cfg *Config) {
	want := map[string]ResourceConfig{}
	for _, r := range cfg.ConfigList {
		want[r.FullName()] = r
	}
	for name, s := range m.resources {
		if _, ok := want[name]; !ok {
			m.stopLocked(name, s)
		}
	}
	for name, rc := range want {
		if s, ok := m.resources[name]; ok {
			_, nics, _ := s.res.snapshot()
			s.res.update(rc, Select(rc.Selectors, nics))
			continue
		}
		s := &served{res: newResource(rc, m.opts.CharDevices), socket: filepath.Join(m.opts.DevicePluginDir, socketName(name))}
		m.resources[name] = s
		if err := m.startLocked(ctx, name, s); err != nil {
			klog.FromContext(ctx).Error(err, "start device plugin server; retrying", "resource", name)
		}
	}
}

// socketName is the plugin's socket file for a resource.
func socketName(fullName string) string {
	return "railnet-" + strings.NewReplacer("/", "_").Replace(fullName) + ".sock"
}

func (m *Manager) startLocked(ctx context.Context, name string, s *served) error {
	if s.server != nil {
		s.server.Stop()
		s.server = nil
	}
	_ = os.Remove(s.socket)
	l, err := net.Listen("unix", s.socket)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.socket, err)
	}
	s.server = grpc.NewServer()
	pluginapi.RegisterDevicePluginServer(s.server, s.res)
	go func(srv *grpc.Server) { _ = srv.Serve(l) }(s.server)
	s.socketID, _ = statID(s.socket)
	s.registered = false
	klog.FromContext(ctx).V(2).Info("device plugin serving", "resource", name, "socket", s.socket)
	return nil
}

func (m *Manager) stopLocked(name string, s *served) {
	close(s.res.stopped)
	if s.server != nil {
		s.server.Stop()
	}
	_ = os.Remove(s.socket)
	if s.regServer != nil {
		s.regServer.Stop()
		_ = os.Remove(s.regSocket)
	}
	delete(m.resources, name)
}

// watch restarts servers whose socket vanished (a restarting kubelet
// removes them) and registers with a new or not yet answered kubelet.
func (m *Manager) watch(ctx context.Context) {
	log := klog.FromContext(ctx)
	kubeletSock := filepath.Join(m.opts.DevicePluginDir, "kubelet.sock")
	m.mu.Lock()
	if m.opts.PluginsRegistryDir != "" {
		m.watchPluginWatcherLocked(ctx)
		m.mu.Unlock()
		return
	}
	kid, ok := statID(kubeletSock)
	if !ok {
		for _, s := range m.resources {
			s.registered = false
		}
		m.kubeletID = fileID{}
		m.mu.Unlock()
		return
	}
	newKubelet := kid != m.kubeletID
	m.kubeletID = kid
	pending := map[string]*served{}
	for name, s := range m.resources {
		if id, ok := statID(s.socket); !ok || id != s.socketID || s.server == nil {
			if err := m.startLocked(ctx, name, s); err != nil {
				log.Error(err, "restart device plugin server", "resource", name)
				continue
			}
		} else if newKubelet {
			s.registered = false
		}
		if !s.registered {
			pending[name] = s
		}
	}
	m.mu.Unlock()
	// Register without the lock: a hung kubelet must not stall Status().
	for name, s := range pending {
		if err := register(ctx, kubeletSock, name, filepath.Base(s.socket)); err != nil {
			log.Error(err, "register with the kubelet; retrying", "resource", name)
			continue
		}
		m.mu.Lock()
		if m.resources[name] == s {
			s.registered = true
		}
		m.mu.Unlock()
		log.Info("registered with the kubelet", "resource", name)
	}
}

func register(ctx context.Context, kubeletSock, resourceName, endpoint string) error {
	conn, err := grpc.NewClient("unix://"+kubeletSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial kubelet at %s: %w", kubeletSock, err)
	}
	defer conn.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = pluginapi.NewRegistrationClient(conn).Register(rctx, &pluginapi.RegisterRequest{
		Version: pluginapi.Version, Endpoint: endpoint, ResourceName: resourceName,
		Options: &pluginapi.DevicePluginOptions{},
	})
	if err != nil {
		return fmt.Errorf("register %s with kubelet at %s: %w", resourceName, kubeletSock, err)
	}
	return nil
}
