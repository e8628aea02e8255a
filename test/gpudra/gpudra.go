package gpudra

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/dynamic-resource-allocation/deviceattribute"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// DriverName is the test GPU driver's name.
const DriverName = "gpu.test.railnet.io"

// DeviceName is a GPU's device name: gpu-<index>.
func DeviceName(index int32) string { return fmt.Sprintf("gpu-%d", index) }

// Devices are the slice's devices for GPUs; pcieRoots maps a PCI address to
// its root complex (GPUs without one have no pcieRoot attribute).
func Devices(gpus []railnetv1.GPU, pcieRoots map[string]string) []resourceapi.Device {
	out := make([]resourceapi.Device, 0, len(gpus))
	for _, g := range gpus {
		attrs := map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
			"index": {IntValue: ptr.To(int64(g.Index))},
			deviceattribute.StandardDeviceAttributePCIBusID: {StringValue: ptr.To(g.PCIAddress)},
		}
		if r := pcieRoots[g.PCIAddress]; r != "" {
			attrs[deviceattribute.StandardDeviceAttributePCIeRoot] = resourceapi.DeviceAttribute{StringValue: ptr.To(r)}
		}
		if g.NUMANode >= 0 {
			attrs[deviceattribute.StandardDeviceAttributeNUMANode] = resourceapi.DeviceAttribute{IntValue: ptr.To(int64(g.NUMANode))}
		}
		out = append(out, resourceapi.Device{Name: DeviceName(g.Index), Attributes: attrs})
	}
	return out
}

// SysfsDevices resolves the GPUs' PCIe roots under sysfsRoot (standing for
// "/") and returns their devices.
func SysfsDevices(sysfsRoot string, gpus []railnetv1.GPU) ([]resourceapi.Device, error) {
	roots := map[string]string{}
	for _, g := range gpus {
		a, err := deviceattribute.GetPCIeRootAttributeByPCIBusID(g.PCIAddress, deviceattribute.WithFSFromRoot(filepath.Join(sysfsRoot, "sys")))
		if err != nil {
			return nil, fmt.Errorf("GPU %s: %w", g.PCIAddress, err)
		}
		roots[g.PCIAddress] = *a.Value.StringValue
	}
	return Devices(gpus, roots), nil
}

// Options configure Run.
type Options struct {
	NodeName    string
	KubeClient  kubernetes.Interface
	KubeletRoot string
	// SysfsRoot stands for "/" when resolving PCIe roots.
	SysfsRoot string
	GPUs      []railnetv1.GPU
}

type driver struct {
	devices map[string]bool
	cancel  context.CancelCauseFunc
}

// Run registers the driver with the node's kubelet and publishes the GPUs
// until ctx ends.
func Run(ctx context.Context, o Options) error {
	devs, err := SysfsDevices(o.SysfsRoot, o.GPUs)
	if err != nil {
		return err
	}
	d := &driver{devices: map[string]bool{}}
	for _, dev := range devs {
		d.devices[dev.Name] = true
	}
	ctx, d.cancel = context.WithCancelCause(ctx)
	defer d.cancel(nil)
	dataDir := filepath.Join(o.KubeletRoot, "plugins", DriverName)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	helper, err := kubeletplugin.Start(ctx, d, kubeletplugin.HealthService(false),
		kubeletplugin.DriverName(DriverName), kubeletplugin.KubeClient(o.KubeClient), kubeletplugin.NodeName(o.NodeName),
		kubeletplugin.RegistrarDirectoryPath(filepath.Join(o.KubeletRoot, "plugins_registry")),
		kubeletplugin.PluginDataDirectoryPath(dataDir))
	if err != nil {
		return err
	}
	defer helper.Stop()
	if err := helper.PublishResources(ctx, resourceslice.DriverResources{Pools: map[string]resourceslice.Pool{
		o.NodeName: {Slices: []resourceslice.Slice{{Devices: devs}}}}}); err != nil {
		return err
	}
	klog.FromContext(ctx).Info("publishing GPUs", "driver", DriverName, "gpus", len(devs))
	<-ctx.Done()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// PrepareResourceClaims checks that the claim's GPUs are this node's.
func (d *driver) PrepareResourceClaims(_ context.Context, claims []*resourceapi.ResourceClaim) (map[types.UID]kubeletplugin.PrepareResult, error) {
	out := map[types.UID]kubeletplugin.PrepareResult{}
	for _, c := range claims {
		var res kubeletplugin.PrepareResult
		var unknown []string
		for _, r := range c.Status.Allocation.Devices.Results {
			if r.Driver != DriverName {
				continue
			}
			if !d.devices[r.Device] {
				unknown = append(unknown, r.Device)
				continue
			}
			res.Devices = append(res.Devices, kubeletplugin.Device{Requests: []string{r.Request}, PoolName: r.Pool, DeviceName: r.Device})
		}
		if len(unknown) > 0 {
			res.Err = fmt.Errorf("ResourceClaim %s/%s: no GPU %s on this node", c.Namespace, c.Name, strings.Join(unknown, ", "))
		}
		out[c.UID] = res
	}
	return out, nil
}

// UnprepareResourceClaims has nothing to undo.
func (d *driver) UnprepareResourceClaims(_ context.Context, claims []kubeletplugin.NamespacedObject) (map[types.UID]error, error) {
	out := map[types.UID]error{}
	for _, c := range claims {
		out[c.UID] = nil
	}
	return out, nil
}

// HandleError stops the driver on fatal errors.
func (d *driver) HandleError(ctx context.Context, err error, msg string) {
	klog.FromContext(ctx).Error(err, msg)
	if !errors.Is(err, kubeletplugin.ErrRecoverable) {
		d.cancel(fmt.Errorf("%s: %w", msg, err))
	}
}

// WatchHealthStatus: the test GPUs report no health (the service is off).
func (d *driver) WatchHealthStatus(context.Context, chan<- kubeletplugin.DeviceHealthReport) error {
	return kubeletplugin.ErrHealthNotSupported
}
