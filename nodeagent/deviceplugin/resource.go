package deviceplugin

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// resource is one kubelet resource: its config, the NICs it matches now and
// the device plugin gRPC service that publishes them.
type resource struct {
	pluginapi.UnimplementedDevicePluginServer

	charDevices CharDevicesFunc

	mu      sync.Mutex
	cfg     ResourceConfig
	nics    []railnetv1.NIC
	changed chan struct{} // closed and replaced when the device list changes
	stopped chan struct{} // closed when the resource is removed
}

func newResource(cfg ResourceConfig, charDevices CharDevicesFunc) *resource {
	return &resource{cfg: cfg, charDevices: charDevices, changed: make(chan struct{}), stopped: make(chan struct{})}
}

// Healthy reports whether the resource's devices can be used: at least one
// matched NIC has link and RDMA port up. A resource whose selectors match
// several NICs (a vendor-wide one) keeps serving while any of them does: the
// pod's network names the NIC it needs, and the extender refuses nodes
// where that NIC's rail is down.
func Healthy(nics []railnetv1.NIC) bool {
	for i := range nics {
		if nics[i].Up() {
			return true
		}
	}
	return false
}

// DownNICs lists the netdevs of the matched NICs whose link or RDMA port is
// down, in the NICs' order; nil when all serve.
func DownNICs(nics []railnetv1.NIC) []string {
	var out []string
	for i := range nics {
		if !nics[i].Up() {
			out = append(out, nics[i].Netdev)
		}
	}
	return out
}

// Devices returns the kubelet devices of a resource: MaxSlots slots, all of
// the matched NICs' health, with the NICs' NUMA nodes as topology.
func Devices(cfg ResourceConfig, nics []railnetv1.NIC) []*pluginapi.Device {
	health := pluginapi.Unhealthy
	if Healthy(nics) {
		health = pluginapi.Healthy
	}
	var topo *pluginapi.TopologyInfo
	var numa []int64
	for _, n := range nics {
		if n.NUMANode >= 0 && !slices.Contains(numa, int64(n.NUMANode)) {
			numa = append(numa, int64(n.NUMANode))
		}
	}
	if len(numa) > 0 {
		slices.Sort(numa)
		topo = &pluginapi.TopologyInfo{}
		for _, id := range numa {
			topo.Nodes = append(topo.Nodes, &pluginapi.NUMANode{ID: id})
		}
	}
	out := make([]*pluginapi.Device, cfg.MaxSlots())
	for i := range out {
		out[i] = &pluginapi.Device{ID: deviceID(cfg, i), Health: health, Topology: topo}
	}
	return out
}

func deviceID(cfg ResourceConfig, i int) string { return cfg.ResourceName + "-" + strconv.Itoa(i) }

// update sets the matched NICs; it wakes ListAndWatch when the devices
// (count, health or topology) change.
func (r *resource) update(cfg ResourceConfig, nics []railnetv1.NIC) {
	r.mu.Lock()
	defer r.mu.Unlock()
	before := Devices(r.cfg, r.nics)
	r.cfg, r.nics = cfg, nics
	if !sameDevices(before, Devices(r.cfg, r.nics)) {
		close(r.changed)
		r.changed = make(chan struct{})
	}
}

func sameDevices(a, b []*pluginapi.Device) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Health != b[i].Health || a[i].Topology.String() != b[i].Topology.String() {
			return false
		}
	}
	return true
}

func (r *resource) snapshot() (ResourceConfig, []railnetv1.NIC, chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg, r.nics, r.changed
}

// GetDevicePluginOptions: no pre-start hook, no preferred allocation.
func (r *resource) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{}, nil
}

// ListAndWatch sends the device list now and after every change.
func (r *resource) ListAndWatch(_ *pluginapi.Empty, stream pluginapi.DevicePlugin_ListAndWatchServer) error {
	for {
		cfg, nics, changed := r.snapshot()
		if err := stream.Send(&pluginapi.ListAndWatchResponse{Devices: Devices(cfg, nics)}); err != nil {
			return err
		}
		select {
		case <-changed:
		case <-r.stopped:
			return nil
		case <-stream.Context().Done():
			return nil
		}
	}
}

// Allocate gives each container the device nodes of every matched NIC.
func (r *resource) Allocate(_ context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	cfg, nics, _ := r.snapshot()
	resp, err := AllocateResponse(cfg, nics, req, r.charDevices)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return resp, nil
}

// AllocateResponse builds Allocate's answer: for each container the
// /dev/infiniband nodes (uverbsN, umadN, issmN where present, rdma_cm) of the
// resource's matched NICs.
func AllocateResponse(cfg ResourceConfig, nics []railnetv1.NIC, req *pluginapi.AllocateRequest, charDevices CharDevicesFunc) (*pluginapi.AllocateResponse, error) {
	valid := cfg.MaxSlots()
	if len(nics) == 0 {
		return nil, fmt.Errorf("resource %s: no RDMA NIC on this node matches its selectors; check the device plugin config and the node's NICs", cfg.FullName())
	}
	var paths []string
	for _, n := range nics {
		for _, p := range charDevices(n.RDMADevice) {
			if !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	sort.Strings(paths)
	specs := make([]*pluginapi.DeviceSpec, 0, len(paths))
	for _, p := range paths {
		specs = append(specs, &pluginapi.DeviceSpec{ContainerPath: p, HostPath: p, Permissions: "rw"})
	}
	out := &pluginapi.AllocateResponse{}
	for _, c := range req.ContainerRequests {
		for _, id := range c.DevicesIds {
			if !validID(cfg, id, valid) {
				return nil, fmt.Errorf("resource %s: unknown device ID %q", cfg.FullName(), id)
			}
		}
		out.ContainerResponses = append(out.ContainerResponses, &pluginapi.ContainerAllocateResponse{Devices: specs})
	}
	return out, nil
}

func validID(cfg ResourceConfig, id string, max int) bool {
	num, ok := strings.CutPrefix(id, cfg.ResourceName+"-")
	if !ok {
		return false
	}
	i, err := strconv.Atoi(num)
	return err == nil && i >= 0 && i < max && strconv.Itoa(i) == num
}

// PreStartContainer is not used (GetDevicePluginOptions says so).
func (r *resource) PreStartContainer(context.Context, *pluginapi.PreStartContainerRequest) (*pluginapi.PreStartContainerResponse, error) {
	return &pluginapi.PreStartContainerResponse{}, nil
}
