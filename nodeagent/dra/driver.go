package dra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	resourceapi "k8s.io/api/resource/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/dynamic-resource-allocation/kubeletplugin"
	"k8s.io/dynamic-resource-allocation/resourceslice"
	"k8s.io/klog/v2"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/dra/claimfiles"
)

// Options configure the rails driver.
type Options struct {
	NodeName   string
	KubeClient kubernetes.Interface
	// KubeletRoot holds plugins_registry and plugins/<driver> (default
	// /var/lib/kubelet), as the kubelet sees them.
	KubeletRoot string
	// CDIDir receives the claims' CDI specs (default /var/run/cdi).
	CDIDir string
	// SysfsRoot stands for "/" when resolving PCIe roots.
	SysfsRoot string
	// Shares is each NIC's consumable "shares" capacity (DefaultShares).
	Shares int64
	// Interval is how often the slice is recomputed (default 2s).
	Interval time.Duration
	// NICs returns the node's last discovery.
	NICs func() ([]railnetv1.NIC, error)
	// CharDevices returns an RDMA device's /dev/infiniband nodes.
	CharDevices func(rdmaDevice string) []string
}

// Driver is the running rails driver.
type Driver struct {
	opts   Options
	cancel context.CancelCauseFunc

	mu        sync.Mutex
	published []resourceapi.Device
	// netWritten is the network data last written per claim UID.
	netWritten map[string]string
}

// New checks the options.
func New(opts Options) (*Driver, error) {
	if opts.NodeName == "" || opts.KubeClient == nil || opts.NICs == nil {
		return nil, errors.New("dra: the node name, a Kubernetes client and the NIC source are required")
	}
	if opts.KubeletRoot == "" {
		opts.KubeletRoot = "/var/lib/kubelet"
	}
	if opts.CDIDir == "" {
		opts.CDIDir = kubeletplugin.DefaultCDIDir
	}
	if opts.SysfsRoot == "" {
		opts.SysfsRoot = "/"
	}
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	return &Driver{opts: opts}, nil
}

func (d *Driver) dataDir() string { return filepath.Join(d.opts.KubeletRoot, "plugins", DriverName) }

func (d *Driver) cdiFile(claimUID string) string {
	return filepath.Join(d.opts.CDIDir, "railnet.io-rail_"+claimUID+".json")
}

// Run registers the driver with the kubelet, publishes the slice and keeps
// it current until ctx ends.
func (d *Driver) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("dra")
	ctx = klog.NewContext(ctx, log)
	ctx, d.cancel = context.WithCancelCause(ctx)
	defer d.cancel(nil)
	for _, dir := range []string{claimfiles.Dir(d.opts.KubeletRoot), d.opts.CDIDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("DRA driver %s: %w", DriverName, err)
		}
	}
	helper, err := kubeletplugin.Start(ctx, d,
		kubeletplugin.DriverName(DriverName),
		kubeletplugin.HealthService(false),
		kubeletplugin.KubeClient(d.opts.KubeClient),
		kubeletplugin.NodeName(d.opts.NodeName),
		kubeletplugin.RegistrarDirectoryPath(filepath.Join(d.opts.KubeletRoot, "plugins_registry")),
		kubeletplugin.PluginDataDirectoryPath(d.dataDir()),
	)
	if err != nil {
		return fmt.Errorf("start the DRA kubelet plugin %s: %w", DriverName, err)
	}
	defer helper.Stop()
	log.Info("DRA driver started", "driver", DriverName, "registry", filepath.Join(d.opts.KubeletRoot, "plugins_registry"))
	tick := time.NewTicker(d.opts.Interval)
	defer tick.Stop()
	for {
		if err := d.publish(ctx, helper); err != nil {
			log.Error(err, "compute the rails ResourceSlice; retrying")
		}
		d.syncNetworkData(ctx)
		select {
		case <-ctx.Done():
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				return cause
			}
			return nil
		case <-tick.C:
		}
	}
}

// publish recomputes the devices and hands a changed slice to the helper.
func (d *Driver) publish(ctx context.Context, helper *kubeletplugin.Helper) error {
	nics, err := d.opts.NICs()
	if err != nil {
		return err
	}
	roots, errs := PCIeRoots(d.opts.SysfsRoot, nics)
	devs, skipped := Devices(nics, roots, d.opts.Shares)
	d.mu.Lock()
	first, same := d.published == nil, apiequality.Semantic.DeepEqual(devs, d.published)
	d.mu.Unlock()
	if !first && same {
		return nil
	}
	log := klog.FromContext(ctx)
	for _, e := range errs {
		log.Error(e, "rail published without resource.kubernetes.io/pcieRoot")
	}
	names := make([]string, 0, len(devs))
	for _, dev := range devs {
		names = append(names, dev.Name)
	}
	log.Info("publishing the rails ResourceSlice", "devices", strings.Join(names, ","), "leftOut", skipped)
	res := resourceslice.DriverResources{Pools: map[string]resourceslice.Pool{
		d.opts.NodeName: {Slices: []resourceslice.Slice{{Devices: devs}}},
	}}
	if err := helper.PublishResources(ctx, res); err != nil {
		return err
	}
	if devs == nil {
		devs = []resourceapi.Device{}
	}
	d.mu.Lock()
	d.published = devs
	d.mu.Unlock()
	return nil
}

// syncNetworkData publishes the rails' interfaces that railnet-dra-cni
// recorded into their claims' status.devices (networkData), once per
// change; errors are logged and retried on the next tick.
func (d *Driver) syncNetworkData(ctx context.Context) {
	dir := claimfiles.Dir(d.opts.KubeletRoot)
	claims, err := claimfiles.ReadClaimFiles(dir)
	if err != nil {
		klog.FromContext(ctx).Error(err, "read the prepared claims for their network data")
		return
	}
	pods := claimfiles.ReadNetworkFiles(dir)
	d.mu.Lock()
	if d.netWritten == nil {
		d.netWritten = map[string]string{}
	}
	d.mu.Unlock()
	for _, pc := range claims {
		net := ClaimNetwork(pc, pods)
		if net == nil {
			continue
		}
		key, _ := json.Marshal(net)
		d.mu.Lock()
		done := d.netWritten[pc.UID] == string(key)
		d.mu.Unlock()
		if done {
			continue
		}
		if err := d.writeStatus(ctx, pc, net); err != nil {
			klog.FromContext(ctx).Error(err, "publish the rails' network data into the claim's status.devices", "claim", pc.Namespace+"/"+pc.Name)
			continue
		}
		d.mu.Lock()
		d.netWritten[pc.UID] = string(key)
		d.mu.Unlock()
	}
}

// PrepareResourceClaims implements kubeletplugin.DRAPlugin.
func (d *Driver) PrepareResourceClaims(ctx context.Context, claims []*resourceapi.ResourceClaim) (map[types.UID]kubeletplugin.PrepareResult, error) {
	nics, err := d.opts.NICs()
	if err != nil {
		return nil, err
	}
	out := make(map[types.UID]kubeletplugin.PrepareResult, len(claims))
	for _, claim := range claims {
		out[claim.UID] = d.prepare(ctx, claim, nics)
	}
	return out, nil
}

func (d *Driver) prepare(ctx context.Context, claim *resourceapi.ResourceClaim, nics []railnetv1.NIC) kubeletplugin.PrepareResult {
	pc, err := Prepare(claim, d.opts.NodeName, nics, d.opts.CharDevices)
	if err != nil {
		return kubeletplugin.PrepareResult{Err: err}
	}
	spec, err := CDISpec(pc)
	if err != nil {
		return kubeletplugin.PrepareResult{Err: err}
	}
	state, err := json.MarshalIndent(pc, "", "  ")
	if err != nil {
		return kubeletplugin.PrepareResult{Err: err}
	}
	if err := writeAtomic(d.cdiFile(pc.UID), spec); err != nil {
		return kubeletplugin.PrepareResult{Err: fmt.Errorf("ResourceClaim %s/%s: CDI spec: %w", claim.Namespace, claim.Name, err)}
	}
	if err := writeAtomic(claimfiles.ClaimFile(d.opts.KubeletRoot, pc.UID), state); err != nil {
		return kubeletplugin.PrepareResult{Err: fmt.Errorf("ResourceClaim %s/%s: claim file: %w", claim.Namespace, claim.Name, err)}
	}
	if err := d.writeStatus(ctx, pc, nil); err != nil {
		// The pod can run without it; kubectl shows less.
		klog.FromContext(ctx).Error(err, "write the rails into the claim's status.devices", "claim", klog.KObj(claim))
	}
	res := kubeletplugin.PrepareResult{}
	for _, r := range pc.Rails {
		dev := kubeletplugin.Device{
			Requests: []string{r.Request}, PoolName: d.opts.NodeName, DeviceName: r.Device,
			CDIDeviceIDs: []string{CDIKind + "=" + CDIDeviceName(pc.UID, r)},
		}
		if r.ShareID != "" {
			dev.ShareID = ptrUID(types.UID(r.ShareID))
		}
		res.Devices = append(res.Devices, dev)
	}
	return res
}

func ptrUID(u types.UID) *types.UID { return &u }

// StatusData is the driver data of a rail in the claim's status.devices.
type StatusData struct {
	Rail       int32  `json:"rail"`
	Netdev     string `json:"netdev"`
	RDMADevice string `json:"rdmaDevice,omitempty"`
}

// DeviceStatuses are the status.devices entries of a prepared claim, with
// each rail's network data when net has it; other drivers' entries in
// current are kept.
func DeviceStatuses(current []resourceapi.AllocatedDeviceStatus, pool string, pc claimfiles.PreparedClaim, net map[int32]resourceapi.NetworkDeviceData) []resourceapi.AllocatedDeviceStatus {
	out := make([]resourceapi.AllocatedDeviceStatus, 0, len(current)+len(pc.Rails))
	for _, s := range current {
		if s.Driver != DriverName {
			out = append(out, s)
		}
	}
	for _, r := range pc.Rails {
		data, _ := json.Marshal(StatusData{Rail: r.Rail, Netdev: r.Netdev, RDMADevice: r.RDMADevice})
		s := resourceapi.AllocatedDeviceStatus{Driver: DriverName, Pool: pool, Device: r.Device,
			Data:       &runtime.RawExtension{Raw: data},
			Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Prepared", Message: "rail " + fmt.Sprint(r.Rail) + " on " + r.Netdev, LastTransitionTime: metav1.Now()}},
		}
		if r.ShareID != "" {
			s.ShareID = &r.ShareID
		}
		if nd, ok := net[r.Rail]; ok {
			s.NetworkData = &nd
		}
		out = append(out, s)
	}
	return out
}

func (d *Driver) writeStatus(ctx context.Context, pc claimfiles.PreparedClaim, net map[int32]resourceapi.NetworkDeviceData) error {
	claims := d.opts.KubeClient.ResourceV1().ResourceClaims(pc.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := claims.Get(ctx, pc.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if string(cur.UID) != pc.UID {
			return fmt.Errorf("ResourceClaim %s/%s was replaced", pc.Namespace, pc.Name)
		}
		cur.Status.Devices = DeviceStatuses(cur.Status.Devices, d.opts.NodeName, pc, net)
		_, err = claims.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// UnprepareResourceClaims implements kubeletplugin.DRAPlugin: it removes
// the claims' CDI specs and claim files (absent files are fine).
func (d *Driver) UnprepareResourceClaims(ctx context.Context, claims []kubeletplugin.NamespacedObject) (map[types.UID]error, error) {
	out := make(map[types.UID]error, len(claims))
	for _, c := range claims {
		var errs []error
		for _, f := range []string{d.cdiFile(string(c.UID)), claimfiles.ClaimFile(d.opts.KubeletRoot, string(c.UID))} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
		out[c.UID] = errors.Join(errs...)
		d.mu.Lock()
		delete(d.netWritten, string(c.UID))
		d.mu.Unlock()
	}
	return out, nil
}

// HandleError implements kubeletplugin.DRAPlugin: recoverable errors are
// logged, others stop the driver (and so the agent, which a restart fixes).
func (d *Driver) HandleError(ctx context.Context, err error, msg string) {
	klog.FromContext(ctx).Error(err, msg)
	if !errors.Is(err, kubeletplugin.ErrRecoverable) && d.cancel != nil {
		d.cancel(fmt.Errorf("DRA driver %s: %s: %w", DriverName, msg, err))
	}
}

// WatchHealthStatus implements kubeletplugin.DRAPlugin; the health service
// is off: health is expressed through the slice (unhealthy rails leave it).
func (d *Driver) WatchHealthStatus(context.Context, chan<- kubeletplugin.DeviceHealthReport) error {
	return kubeletplugin.ErrHealthNotSupported
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
