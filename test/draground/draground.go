package draground

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	corev1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/railsdra"
	"github.com/railnet/railnet/test/gpudra"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/realnode"
)

// Commands are the binaries DRA mode adds to a node: the CNI plugin that
// creates the claimed rails and the test GPU driver.
var Commands = []string{"./nodeagent/cmd/railnet-dra-cni", "./test/gpudra/cmd/railnet-test-gpu-dra"}

// GPUDriverBinary is the test GPU driver's binary name among Commands.
const GPUDriverBinary = "railnet-test-gpu-dra"

// OnNode makes an impersonating kubeconfig carry the node-name extra that a
// DaemonSet pod's bound ServiceAccount token carries, so the API server
// associates the agent with its node (the chart grants the rails driver
// associated-node verbs on resourceclaims/driver, not arbitrary-node).
func OnNode(tb ground.TB, path, node string) {
	tb.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		if a.ImpersonateUserExtra == nil {
			a.ImpersonateUserExtra = map[string][]string{}
		}
		a.ImpersonateUserExtra["authentication.kubernetes.io/node-name"] = []string{node}
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		tb.Fatal(err)
	}
}

// ApplyDeviceClasses creates the chart's rails DeviceClass (helm template
// with dra.enabled) and gpu.nvidia.com, which on the ground selects the
// test GPU driver: NVIDIA's DRA driver names its class so, and the
// documented and webhook-kept claim templates apply unchanged.
func ApplyDeviceClasses(ctx context.Context, tb ground.TB, c *ground.Cluster) {
	tb.Helper()
	chart, err := ground.ChartDir(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := ground.Helm(ctx, "template", ground.ChartRelease, chart, "--namespace", ground.ChartNamespace,
		"--set", "dra.enabled=true", "--show-only", "templates/dra.yaml")
	if err != nil {
		tb.Fatalf("helm template: %v\n%s", err, out)
	}
	objs, err := ground.DecodeYAML(out)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		if o.GetKind() == "DeviceClass" {
			if err := c.Client.Create(ctx, o); err != nil {
				tb.Fatalf("create DeviceClass %s: %v", o.GetName(), err)
			}
			n++
		}
	}
	if n == 0 {
		tb.Fatalf("the chart's dra.yaml has no DeviceClass:\n%s", out)
	}
	gpuClass := &resourceapi.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: railsdra.GPUDeviceClassName},
		Spec: resourceapi.DeviceClassSpec{Selectors: []resourceapi.DeviceSelector{{CEL: &resourceapi.CELDeviceSelector{
			Expression: fmt.Sprintf("device.driver == %q", gpudra.DriverName)}}}}}
	if err := c.Client.Create(ctx, gpuClass); err != nil {
		tb.Fatal(err)
	}
}

// StartGPUDriver runs the test GPU driver (binary in bin) on node rn,
// publishing the fixture's 8 GPUs with their PCIe roots.
func StartGPUDriver(tb ground.TB, c *ground.Cluster, rn *realnode.Node, bin, fixture string) {
	tb.Helper()
	kc := filepath.Join(rn.Dir, "gpu-dra.kubeconfig")
	if err := c.WriteKubeconfig(kc, rn.APIServer, c.AdminAuth()); err != nil {
		tb.Fatal(err)
	}
	if err := rn.Run("gpu-dra", filepath.Join(bin, GPUDriverBinary), "--kubeconfig="+kc, "--node-name="+rn.Name,
		"--sysfs-root="+fixture); err != nil {
		tb.Fatal(err)
	}
}

// FixtureRoots is the PCIe root complex of GPU i and of rail i's NIC
// (enp1<1+i>s0f0np0) in the fixture (nodeagent/testdata/sysfs/rail8): GPU
// i and rail i share a PCIe switch, two GPUs and two NICs per root.
var FixtureRoots = []string{"pci0000:00", "pci0000:00", "pci0000:20", "pci0000:20", "pci0000:80", "pci0000:80", "pci0000:a0", "pci0000:a0"}

// Allocated returns the GPU and rail indexes a claim was allocated, sorted.
func Allocated(cl *resourceapi.ResourceClaim) (gpus, rails []int) {
	if cl.Status.Allocation == nil {
		return nil, nil
	}
	for _, r := range cl.Status.Allocation.Devices.Results {
		var i int
		switch r.Driver {
		case gpudra.DriverName:
			if _, err := fmt.Sscanf(r.Device, "gpu-%d", &i); err == nil {
				gpus = append(gpus, i)
			}
		case railsdra.DriverName:
			if _, err := fmt.Sscanf(r.Device, "rail-%d", &i); err == nil {
				rails = append(rails, i)
			}
		}
	}
	slices.Sort(gpus)
	slices.Sort(rails)
	return gpus, rails
}

// PodClaim returns the ResourceClaim the pod's claim named claimName was
// made as (from a template: the name in the pod's status).
func PodClaim(ctx context.Context, c client.Reader, pod *corev1.Pod, claimName string) (*resourceapi.ResourceClaim, error) {
	name := ""
	for _, s := range pod.Status.ResourceClaimStatuses {
		if s.Name == claimName && s.ResourceClaimName != nil {
			name = *s.ResourceClaimName
		}
	}
	for _, pc := range pod.Spec.ResourceClaims {
		if pc.Name == claimName && pc.ResourceClaimName != nil {
			name = *pc.ResourceClaimName
		}
	}
	if name == "" {
		return nil, fmt.Errorf("pod %s/%s has no ResourceClaim for its claim %s yet", pod.Namespace, pod.Name, claimName)
	}
	cl := &resourceapi.ResourceClaim{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: name}, cl); err != nil {
		return nil, fmt.Errorf("claim %s of pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
	}
	return cl, nil
}
