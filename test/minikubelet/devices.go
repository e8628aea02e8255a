package minikubelet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// devices is the device manager: the registration server and one
// ListAndWatch stream per registered resource.
type devices struct {
	pluginapi.UnimplementedRegistrationServer

	dir      string // the device-plugin folder holding kubelet.sock
	onChange func() // called when a resource's healthy set changes

	mu        sync.Mutex
	resources map[string]*pluginResource
	server    *grpc.Server
}

type pluginResource struct {
	name     string
	endpoint string
	conn     *grpc.ClientConn
	client   pluginapi.DevicePluginClient
	cancel   context.CancelFunc
	devices  map[string]*pluginapi.Device // by ID
	// allocated device IDs by pod UID
	allocated map[string][]string
}

func newDevices(dir string, onChange func()) *devices {
	return &devices{dir: dir, onChange: onChange, resources: map[string]*pluginResource{}}
}

// serve listens on <dir>/kubelet.sock until ctx ends. Restarting the
// mini-kubelet removes and recreates the socket, which is how a real
// kubelet restart looks to a device plugin.
func (d *devices) serve(ctx context.Context) error {
	if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return err
	}
	sock := filepath.Join(d.dir, filepath.Base(pluginapi.KubeletSocket)) // "kubelet.sock"
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sock, err)
	}
	d.mu.Lock()
	d.server = grpc.NewServer()
	pluginapi.RegisterRegistrationServer(d.server, d)
	srv := d.server
	d.mu.Unlock()
	go func() {
		<-ctx.Done()
		srv.Stop()
		d.mu.Lock()
		for _, r := range d.resources {
			r.cancel()
			r.conn.Close()
		}
		d.mu.Unlock()
		_ = os.Remove(sock)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// Register is called by a device plugin.
func (d *devices) Register(ctx context.Context, req *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	if req.Version != pluginapi.Version {
		return nil, fmt.Errorf("device plugin %s speaks %q, this kubelet %q", req.ResourceName, req.Version, pluginapi.Version)
	}
	if req.ResourceName == "" || req.Endpoint == "" {
		return nil, errors.New("register: resource name and endpoint are required")
	}
	endpoint := filepath.Join(d.dir, req.Endpoint)
	conn, err := grpc.NewClient("unix://"+endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial device plugin %s at %s: %w", req.ResourceName, endpoint, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	r := &pluginResource{
		name: req.ResourceName, endpoint: endpoint, conn: conn,
		client: pluginapi.NewDevicePluginClient(conn), cancel: cancel,
		devices: map[string]*pluginapi.Device{}, allocated: map[string][]string{},
	}
	d.mu.Lock()
	if old, ok := d.resources[req.ResourceName]; ok {
		old.cancel()
		old.conn.Close()
		r.allocated = old.allocated // allocations survive a plugin restart
	}
	d.resources[req.ResourceName] = r
	d.mu.Unlock()
	klog.FromContext(ctx).Info("device plugin registered", "resource", req.ResourceName, "endpoint", endpoint)
	go d.watch(sctx, r)
	return &pluginapi.Empty{}, nil
}

// watch follows one plugin's ListAndWatch; when the stream ends the
// resource's devices are gone until the plugin registers again.
func (d *devices) watch(ctx context.Context, r *pluginResource) {
	log := klog.Background().WithValues("resource", r.name)
	stream, err := r.client.ListAndWatch(ctx, &pluginapi.Empty{})
	if err == nil {
		for {
			resp, rerr := stream.Recv()
			if rerr != nil {
				err = rerr
				break
			}
			d.mu.Lock()
			r.devices = map[string]*pluginapi.Device{}
			for _, dev := range resp.Devices {
				r.devices[dev.ID] = dev
			}
			d.mu.Unlock()
			d.onChange()
		}
	}
	if ctx.Err() == nil {
		log.Info("device plugin stream ended", "err", err)
	}
	d.mu.Lock()
	if d.resources[r.name] == r {
		r.devices = map[string]*pluginapi.Device{}
	}
	d.mu.Unlock()
	d.onChange()
}

// resourceLists returns capacity (all devices) and allocatable (healthy
// devices) for every registered resource.
func (d *devices) resourceLists() (capacity, allocatable corev1.ResourceList) {
	d.mu.Lock()
	defer d.mu.Unlock()
	capacity, allocatable = corev1.ResourceList{}, corev1.ResourceList{}
	for name, r := range d.resources {
		healthy := 0
		for _, dev := range r.devices {
			if dev.Health == pluginapi.Healthy {
				healthy++
			}
		}
		capacity[corev1.ResourceName(name)] = *resource.NewQuantity(int64(len(r.devices)), resource.DecimalSI)
		allocatable[corev1.ResourceName(name)] = *resource.NewQuantity(int64(healthy), resource.DecimalSI)
	}
	return capacity, allocatable
}

// Allocation is what Allocate returned for one container.
type Allocation struct {
	Resource  string
	DeviceIDs []string
	Response  *pluginapi.ContainerAllocateResponse
}

// allocate picks free healthy devices for each extended resource a container
// of the pod asks for and calls the plugin's Allocate, as the kubelet does at
// pod admission. Resources no plugin serves are skipped (the scheduler
// accounted them; nothing on this node hands them out).
func (d *devices) allocate(ctx context.Context, pod *corev1.Pod) ([]Allocation, error) {
	var out []Allocation
	for _, c := range pod.Spec.Containers {
		names := make([]string, 0, len(c.Resources.Limits))
		for name := range c.Resources.Limits {
			names = append(names, string(name))
		}
		sort.Strings(names)
		for _, name := range names {
			want := c.Resources.Limits[corev1.ResourceName(name)]
			ids, client, err := d.reserve(pod, name, int(want.Value()))
			if err != nil {
				return out, err
			}
			if client == nil {
				continue
			}
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			resp, err := client.Allocate(actx, &pluginapi.AllocateRequest{
				ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: ids}},
			})
			cancel()
			if err != nil {
				d.release(pod)
				return out, fmt.Errorf("allocate %d %s for pod %s/%s: %w", len(ids), name, pod.Namespace, pod.Name, err)
			}
			var car *pluginapi.ContainerAllocateResponse
			if len(resp.ContainerResponses) > 0 {
				car = resp.ContainerResponses[0]
			}
			out = append(out, Allocation{Resource: name, DeviceIDs: ids, Response: car})
		}
	}
	return out, nil
}

func (d *devices) reserve(pod *corev1.Pod, name string, n int) ([]string, pluginapi.DevicePluginClient, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.resources[name]
	if !ok {
		return nil, nil, nil
	}
	used := map[string]bool{}
	for uid, ids := range r.allocated {
		if uid == string(pod.UID) {
			return ids, r.client, nil // already admitted: same devices
		}
		for _, id := range ids {
			used[id] = true
		}
	}
	free := make([]string, 0, n)
	ids := make([]string, 0, len(r.devices))
	for id := range r.devices {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if len(free) == n {
			break
		}
		if !used[id] && r.devices[id].Health == pluginapi.Healthy {
			free = append(free, id)
		}
	}
	if len(free) < n {
		return nil, nil, fmt.Errorf("pod %s/%s needs %d %s, only %d healthy devices are free on this node", pod.Namespace, pod.Name, n, name, len(free))
	}
	r.allocated[string(pod.UID)] = free
	return free, r.client, nil
}

func (d *devices) release(pod *corev1.Pod) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.resources {
		delete(r.allocated, string(pod.UID))
	}
}

// Registered reports the resource names with a live registration.
func (d *devices) registered() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.resources))
	for name := range d.resources {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
