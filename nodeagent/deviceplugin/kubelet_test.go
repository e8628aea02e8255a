package deviceplugin

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// fakeKubelet is the kubelet's registration server on <dir>/kubelet.sock:
// for each registration it dials the plugin back and follows ListAndWatch,
// as the kubelet's device manager does.
type fakeKubelet struct {
	pluginapi.UnimplementedRegistrationServer

	dir    string
	server *grpc.Server

	mu         sync.Mutex
	registered map[string]int                 // resource → registrations
	devices    map[string][]*pluginapi.Device // resource → last list
	clients    map[string]pluginapi.DevicePluginClient
	changed    chan struct{}
	conns      []*grpc.ClientConn
	ctx        context.Context
	cancel     context.CancelFunc
}

func startFakeKubelet(tb testing.TB, dir string) *fakeKubelet {
	tb.Helper()
	k := &fakeKubelet{dir: dir, registered: map[string]int{}, devices: map[string][]*pluginapi.Device{},
		clients: map[string]pluginapi.DevicePluginClient{}, changed: make(chan struct{})}
	k.start(tb)
	tb.Cleanup(k.stop)
	return k
}

func (k *fakeKubelet) start(tb testing.TB) {
	tb.Helper()
	sock := filepath.Join(k.dir, "kubelet.sock")
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	k.mu.Lock()
	k.ctx, k.cancel = context.WithCancel(context.Background())
	k.server = grpc.NewServer()
	pluginapi.RegisterRegistrationServer(k.server, k)
	srv := k.server
	k.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// stop ends the registration server and every watch.
func (k *fakeKubelet) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.server.Stop()
	k.cancel()
	for _, c := range k.conns {
		c.Close()
	}
	k.conns = nil
}

// restart looks like a kubelet restart: the registration socket and every
// plugin socket in the folder are removed, then a new socket is served.
func (k *fakeKubelet) restart(tb testing.TB) {
	k.stop()
	entries, _ := os.ReadDir(k.dir)
	for _, e := range entries {
		_ = os.Remove(filepath.Join(k.dir, e.Name()))
	}
	k.start(tb)
}

func (k *fakeKubelet) Register(_ context.Context, req *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	if req.Version != pluginapi.Version {
		return nil, errors.New("bad version " + req.Version)
	}
	conn, err := grpc.NewClient("unix://"+filepath.Join(k.dir, req.Endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	client := pluginapi.NewDevicePluginClient(conn)
	k.mu.Lock()
	k.registered[req.ResourceName]++
	k.clients[req.ResourceName] = client
	k.conns = append(k.conns, conn)
	ctx := k.ctx
	k.notifyLocked()
	k.mu.Unlock()
	go func() {
		stream, err := client.ListAndWatch(ctx, &pluginapi.Empty{})
		if err != nil {
			return
		}
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			k.mu.Lock()
			k.devices[req.ResourceName] = resp.Devices
			k.notifyLocked()
			k.mu.Unlock()
		}
	}()
	return &pluginapi.Empty{}, nil
}

func (k *fakeKubelet) notifyLocked() {
	close(k.changed)
	k.changed = make(chan struct{})
}

// state returns a copy of what the kubelet knows and a channel closed on
// the next change.
func (k *fakeKubelet) state() (map[string]int, map[string][]*pluginapi.Device, chan struct{}) {
	k.mu.Lock()
	defer k.mu.Unlock()
	reg := map[string]int{}
	for n, c := range k.registered {
		reg[n] = c
	}
	dev := map[string][]*pluginapi.Device{}
	for n, d := range k.devices {
		dev[n] = d
	}
	return reg, dev, k.changed
}

func (k *fakeKubelet) client(resource string) pluginapi.DevicePluginClient {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.clients[resource]
}
