package dra

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/dynamic-resource-allocation/deviceattribute"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/dra"
	"github.com/railnet/railnet/nodeagent/dra/claimfiles"
	"github.com/railnet/railnet/test/draground"
	"github.com/railnet/railnet/test/gpudra"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/realnode"
	"github.com/railnet/railnet/test/simnode"
	"github.com/railnet/railnet/test/story"
)

const (
	nodeName = "worker1"
	ns       = "train"
)

// The fixture's topology: GPU i and rail i share a PCIe switch, two GPUs
// and two NICs per root complex.
var fixtureRoots = draground.FixtureRoots

type env struct {
	c    *ground.Cluster
	sn   *simnode.Node
	node *realnode.Node
}

func TestRailsFollowTheGPUs(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	e := up(ctx, t)
	c := e.c

	t.Run("the rails driver registers and publishes one device per rail with its PCIe root", func(t *testing.T) {
		s := waitSlice(ctx, t, c, dra.DriverName, func(s *resourceapi.ResourceSlice) bool { return len(s.Spec.Devices) == 8 })
		for i, d := range s.Spec.Devices {
			if d.Name != dra.DeviceName(int32(i)) {
				t.Errorf("device %d is %s, want %s", i, d.Name, dra.DeviceName(int32(i)))
			}
			wantNetdev := fmt.Sprintf("enp%ds0f0np0", 11+i)
			if got := attrString(d, dra.DriverName+"/"+dra.AttrNetdev); got != wantNetdev {
				t.Errorf("%s netdev %q, want %q", d.Name, got, wantNetdev)
			}
			if got := attrString(d, string(deviceattribute.StandardDeviceAttributePCIeRoot)); got != fixtureRoots[i] {
				t.Errorf("%s pcieRoot %q, want %q", d.Name, got, fixtureRoots[i])
			}
			for _, a := range []string{dra.AttrRDMADevice, dra.AttrLinkState, dra.AttrPortState, dra.AttrNUMANode, dra.AttrRail} {
				if _, ok := d.Attributes[resourceapi.QualifiedName(a)]; !ok {
					t.Errorf("%s lacks attribute %s", d.Name, a)
				}
			}
			if d.AllowMultipleAllocations == nil || !*d.AllowMultipleAllocations {
				t.Errorf("%s does not allow multiple allocations (dropped by the API server?)", d.Name)
			}
		}
		waitSlice(ctx, t, c, gpudra.DriverName, func(s *resourceapi.ResourceSlice) bool { return len(s.Spec.Devices) == 8 })
	})

	// Pod A: 2 GPUs and their 2 rails (the documented template).
	podA := claimPod(ctx, t, c, "trainer-a", &corev1.PodResourceClaim{Name: "gpus-and-rails", ResourceClaimTemplateName: ptr.To("gpus-and-rails-2")})
	claimA := podClaim(ctx, t, c, podA)
	gpusA, railsA := allocated(claimA)

	t.Run("a 2-GPU pod gets the 2 rails on its GPUs' PCIe root", func(t *testing.T) {
		if len(gpusA) != 2 || len(railsA) != 2 {
			t.Fatalf("claim %s: GPUs %v, rails %v; want 2 and 2", claimA.Name, gpusA, railsA)
		}
		root := fixtureRoots[gpusA[0]]
		for _, g := range gpusA {
			if fixtureRoots[g] != root {
				t.Errorf("GPUs %v span PCIe roots", gpusA)
			}
		}
		var want []int
		for i, r := range fixtureRoots {
			if r == root {
				want = append(want, i)
			}
		}
		if !slices.Equal(railsA, want) {
			t.Errorf("GPUs %v on %s got rails %v, want the rails on that root %v", gpusA, root, railsA, want)
		}
	})

	t.Run("the pod has exactly its claimed rails as net<rail+1>", func(t *testing.T) {
		got := railInterfaces(ctx, t, c, podA.Name)
		var want []string
		for _, r := range railsA {
			want = append(want, claimfiles.InterfaceName(int32(r)))
		}
		var names []string
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		if !slices.Equal(names, want) {
			t.Errorf("pod A interfaces %v (%v), want %v for rails %v", names, got, want, railsA)
		}
		var allocs railnetv1.IPAllocationList
		if err := c.Client.List(ctx, &allocs); err != nil {
			t.Fatal(err)
		}
		var mine []string
		for _, a := range allocs.Items {
			if a.Spec.PodUID == string(podA.UID) {
				mine = append(mine, a.Spec.Interface+"="+a.Spec.IP)
			}
		}
		if len(mine) != len(railsA) {
			t.Errorf("pod A's IPAllocations %v, want one per claimed rail %v", mine, railsA)
		}
		rules, err := c.Exec(ctx, ns, podA.Name, "main", "ip", "rule")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range railsA {
			ifName := claimfiles.InterfaceName(int32(r))
			addr, _, _ := strings.Cut(got[ifName], "/")
			table := fmt.Sprint(100 + r)
			if !strings.Contains(rules, "from "+addr+" lookup "+table) {
				t.Errorf("%s (%s): no policy rule to table %s in\n%s", ifName, addr, table, rules)
			}
			routes, err := c.Exec(ctx, ns, podA.Name, "main", "ip", "route", "show", "table", table)
			gw := simnode.SeedRails()[r].Gateway.Addr().String()
			if err != nil || !strings.Contains(routes, "default via "+gw+" dev "+ifName) {
				t.Errorf("table %s: %q, %v; want the default route via rail %d's gateway %s", table, routes, err, r, gw)
			}
		}
	})

	t.Run("prepare hands the pod its rails: claim file, CDI spec, claim status", func(t *testing.T) {
		pc := readClaimFile(t, e.node, string(claimA.UID))
		var got []int
		for _, r := range pc.Rails {
			got = append(got, int(r.Rail))
			if want := fmt.Sprintf("enp%ds0f0np0", 11+r.Rail); r.Netdev != want || r.RDMADevice == "" || len(r.CharDevices) == 0 {
				t.Errorf("prepared rail %+v, want netdev %s with its RDMA device and /dev/infiniband nodes", r, want)
			}
		}
		if !slices.Equal(got, railsA) {
			t.Errorf("claim file rails %v, allocation %v", got, railsA)
		}
		if !slices.Equal(pc.Pods, []string{string(podA.UID)}) {
			t.Errorf("claim file names pods %v, want pod A %s (the CNI finds its rails by pod UID)", pc.Pods, podA.UID)
		}
		spec, err := os.ReadFile(e.node.HostPath(filepath.Join("/run/cdi", "railnet.io-rail_"+string(claimA.UID)+".json")))
		if err != nil || !strings.Contains(string(spec), "RAILNET_RAILS="+joinInts(railsA)) {
			t.Errorf("CDI spec: %v\n%s", err, spec)
		}
		cur := &resourceapi.ResourceClaim{}
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(claimA), cur); err != nil {
			t.Fatal(err)
		}
		var statusRails []string
		for _, d := range cur.Status.Devices {
			if d.Driver == dra.DriverName && d.Data != nil {
				var sd dra.StatusData
				if err := json.Unmarshal(d.Data.Raw, &sd); err != nil {
					t.Errorf("status data of %s: %v", d.Device, err)
				}
				statusRails = append(statusRails, fmt.Sprintf("%s=%s", d.Device, sd.Netdev))
			}
		}
		if len(statusRails) != 2 {
			t.Errorf("claim status.devices names rails %v, want the 2 allocated", statusRails)
		}
		// railnet-dra-cni recorded the interfaces; the agent publishes them
		// as each rail's networkData (KEP-4817).
		ifs := railInterfaces(ctx, t, c, podA.Name)
		story.WaitFor(ctx, t, "networkData in claim "+claimA.Name, func() (bool, string) {
			cur := &resourceapi.ResourceClaim{}
			if err := c.Client.Get(ctx, client.ObjectKeyFromObject(claimA), cur); err != nil {
				return false, err.Error()
			}
			var got []string
			ok := 0
			for _, d := range cur.Status.Devices {
				if d.Driver != dra.DriverName || d.NetworkData == nil {
					continue
				}
				nd := d.NetworkData
				got = append(got, fmt.Sprintf("%s: %s %v %s", d.Device, nd.InterfaceName, nd.IPs, nd.HardwareAddress))
				if len(nd.IPs) == 1 && nd.IPs[0] == ifs[nd.InterfaceName] && nd.HardwareAddress != "" {
					ok++
				}
			}
			return ok == 2, fmt.Sprintf("networkData %v, pod interfaces %v", got, ifs)
		})
	})

	// Pod B: no GPU, 2 rails on pod A's PCIe root: it shares A's NICs.
	rootA := fixtureRoots[railsA[0]]
	claimB := &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rails-only"},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{
			Requests: []resourceapi.DeviceRequest{{Name: "rails", Exactly: &resourceapi.ExactDeviceRequest{
				DeviceClassName: "rails.railnet.io", AllocationMode: resourceapi.DeviceAllocationModeExactCount, Count: 2,
				Selectors: []resourceapi.DeviceSelector{{CEL: &resourceapi.CELDeviceSelector{
					Expression: fmt.Sprintf(`device.attributes["resource.kubernetes.io"].pcieRoot == %q`, rootA)}}},
			}}},
			Constraints: []resourceapi.DeviceConstraint{{Requests: []string{"rails"}, DistinctAttribute: ptr.To(resourceapi.FullyQualifiedName(dra.DriverName + "/rail"))}},
		}},
	}
	if err := c.Client.Create(ctx, claimB); err != nil {
		t.Fatal(err)
	}
	podB := claimPod(ctx, t, c, "sharer-b", &corev1.PodResourceClaim{Name: "rails", ResourceClaimName: ptr.To(claimB.Name)})
	t.Run("a second pod shares the same NICs", func(t *testing.T) {
		cb := podClaim(ctx, t, c, podB)
		_, railsB := allocated(cb)
		if !slices.Equal(railsB, railsA) {
			t.Errorf("pod B got rails %v, want pod A's %v (shared)", railsB, railsA)
		}
		shares := map[string]bool{}
		for _, cl := range []*resourceapi.ResourceClaim{claimA, cb} {
			for _, r := range cl.Status.Allocation.Devices.Results {
				if r.Driver == dra.DriverName {
					if r.ShareID == nil {
						t.Errorf("claim %s: %s allocated without a share ID", cl.Name, r.Device)
						continue
					}
					shares[string(*r.ShareID)] = true
				}
			}
		}
		if len(shares) != 4 {
			t.Errorf("%d distinct share IDs over the two claims' 4 rail allocations, want 4", len(shares))
		}
		a, b := railInterfaces(ctx, t, c, podA.Name), railInterfaces(ctx, t, c, podB.Name)
		for _, r := range railsA {
			name := claimfiles.InterfaceName(int32(r))
			if b[name] == "" || b[name] == a[name] {
				t.Errorf("%s: pod A %q, pod B %q; want both on the shared NIC with their own addresses", name, a[name], b[name])
			}
		}
	})

	t.Run("a rail going down leaves the slice and new claims avoid it", func(t *testing.T) {
		down := 2 // enp13s0f0np0, on pci0000:20 with GPUs 2 and 3
		if err := e.sn.SetRail(down, false); err != nil {
			t.Fatal(err)
		}
		waitSlice(ctx, t, c, dra.DriverName, func(s *resourceapi.ResourceSlice) bool {
			return len(s.Spec.Devices) == 7 && !slices.ContainsFunc(s.Spec.Devices, func(d resourceapi.Device) bool { return d.Name == dra.DeviceName(int32(down)) })
		})
		podC := claimPod(ctx, t, c, "trainer-c", &corev1.PodResourceClaim{Name: "gpus-and-rails", ResourceClaimTemplateName: ptr.To("gpus-and-rails-2")})
		gpusC, railsC := allocated(podClaim(ctx, t, c, podC))
		if slices.Contains(railsC, down) || len(railsC) != 2 || fixtureRoots[railsC[0]] != fixtureRoots[gpusC[0]] {
			t.Errorf("with rail %d down, pod C got GPUs %v and rails %v; want 2 rails on its GPUs' root, not rail %d", down, gpusC, railsC, down)
		}
		if fixtureRoots[gpusC[0]] == fixtureRoots[down] {
			t.Errorf("pod C's GPUs %v are on %s, whose rail %d is down", gpusC, fixtureRoots[down], down)
		}
		if err := e.sn.SetRail(down, true); err != nil {
			t.Fatal(err)
		}
		waitSlice(ctx, t, c, dra.DriverName, func(s *resourceapi.ResourceSlice) bool { return len(s.Spec.Devices) == 8 })
	})

	t.Run("the pairwise template pairs each GPU with a rail on its root", func(t *testing.T) {
		podD := claimPod(ctx, t, c, "trainer-d", &corev1.PodResourceClaim{Name: "pairs", ResourceClaimTemplateName: ptr.To("gpu-rail-pairs-2")})
		cd := podClaim(ctx, t, c, podD)
		byRequest := map[string]int{}
		for _, r := range cd.Status.Allocation.Devices.Results {
			var i int
			if _, err := fmt.Sscanf(r.Device[strings.LastIndex(r.Device, "-")+1:], "%d", &i); err != nil {
				t.Fatalf("device %s: %v", r.Device, err)
			}
			byRequest[r.Request] = i
		}
		for _, pair := range []string{"0", "1"} {
			g, gok := byRequest["gpu-"+pair]
			r, rok := byRequest["rail-"+pair]
			if !gok || !rok || fixtureRoots[g] != fixtureRoots[r] {
				t.Errorf("pair %s: GPU %d (%v) and rail %d (%v) not on one PCIe root; allocation %v", pair, g, gok, r, rok, byRequest)
			}
		}
		if byRequest["rail-0"] == byRequest["rail-1"] {
			t.Errorf("both pairs got rail %d; the rails must be distinct", byRequest["rail-0"])
		}
	})

	t.Run("deleting the pods releases the claims and their files", func(t *testing.T) {
		var uids []string
		var claims resourceapi.ResourceClaimList
		if err := c.Client.List(ctx, &claims, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, cl := range claims.Items {
			uids = append(uids, string(cl.UID))
		}
		if err := c.Client.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.GracePeriodSeconds(0)); err != nil {
			t.Fatal(err)
		}
		if err := c.Client.Delete(ctx, claimB); err != nil {
			t.Fatal(err)
		}
		story.WaitFor(ctx, t, "the claims and their claim files gone", func() (bool, string) {
			var left resourceapi.ResourceClaimList
			if err := c.Client.List(ctx, &left, client.InNamespace(ns)); err != nil {
				return false, err.Error()
			}
			var files []string
			for _, u := range uids {
				if _, err := os.Stat(e.node.HostPath(claimfiles.ClaimFile(realnode.KubeletRoot, u))); err == nil {
					files = append(files, u)
				}
			}
			nets, _ := os.ReadDir(e.node.HostPath(filepath.Dir(claimfiles.NetworkFile(claimfiles.Dir(realnode.KubeletRoot), "x"))))
			for _, n := range nets {
				files = append(files, "net/"+n.Name())
			}
			return len(left.Items) == 0 && len(files) == 0, fmt.Sprintf("%d claims, claim and network files %v", len(left.Items), files)
		})
		// CNI DEL ran while the claim files were still there: railnet-ipam
		// released the pods' rail addresses.
		story.WaitFor(ctx, t, "the pods' rail addresses released", func() (bool, string) {
			var allocs railnetv1.IPAllocationList
			if err := c.Client.List(ctx, &allocs); err != nil {
				return false, err.Error()
			}
			var left []string
			for _, a := range allocs.Items {
				if a.Spec.PodNamespace == ns {
					left = append(left, a.Spec.PodName+" "+a.Spec.IP)
				}
			}
			return len(left) == 0, fmt.Sprintf("IPAllocations left: %v", left)
		})
	})
}

// up starts the control plane, one real node on a rail fabric with the
// fixture's RDMA devices, railnet-agent in DRA mode (as the chart's
// ServiceAccount with the chart's DRA RBAC) and the test GPU driver, and
// applies the chart's DeviceClass and the documented claim templates.
func up(ctx context.Context, t *testing.T) *env {
	root, err := ground.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fixture := filepath.Join(root, "nodeagent", "testdata", "sysfs", "rail8")
	bin := t.TempDir()
	if err := ground.BuildCommands(ctx, bin, append([]string{"./nodeagent/cmd/railnet-agent",
		"./nodeagent/cmd/railnet-ipam", "./nodeagent/cmd/railnet-coordinator"}, draground.Commands...)...); err != nil {
		t.Fatal(err)
	}
	network := realnode.NewNetwork(t)
	c := ground.Start(t, ground.Options{RealNodes: true})
	bins, err := realnode.Build(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.EnsureNamespace(t, ground.ChartNamespace)
	c.EnsureNamespace(t, ns)
	kubeconfigs := c.ApplyChartRBAC(t, t.TempDir(), ground.ChartRelease, ground.ChartNamespace, []string{"node-agent"}, "--set", "dra.enabled=true")

	fabric := simnode.NewFabric(t, simnode.SeedRails())
	sn := fabric.AddNode(t, nodeName)
	devices, err := realnode.InfinibandDevices(filepath.Join(fixture, "dev", "infiniband"))
	if err != nil {
		t.Fatal(err)
	}
	cniBin := map[string]string{}
	cniDir, err := ground.BuildGoTool(ctx, ground.CNIPluginsTool())
	if err != nil {
		t.Fatal(err)
	}
	for name := range ground.CNIPluginsTool().Binaries {
		cniBin[name] = filepath.Join(cniDir, name)
	}
	for _, p := range []string{"railnet-dra-cni", "railnet-ipam", "railnet-coordinator"} {
		cniBin[p] = filepath.Join(bin, p)
	}
	rn := realnode.Start(t, c, network, bins, realnode.Spec{Name: nodeName, Netns: sn.Netns, Devices: devices, CNIBin: cniBin,
		CNIConf: func(n *realnode.Node) map[string][]byte {
			return map[string][]byte{"10-cluster.conflist": clusterConf(n.PodCIDR.String())}
		}})
	// The seed's 8 pools, one per rail subnet, for railnet-ipam.
	pools, err := ground.DecodeYAML(story.SeedManifests())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range pools {
		if o.GetKind() == "SpiderIPPool" {
			if err := c.Client.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}

	agentKC := filepath.Join(rn.Dir, "railnet-agent.kubeconfig")
	if err := ground.RewriteKubeconfig(kubeconfigs["node-agent"], agentKC, rn.APIServer); err != nil {
		t.Fatal(err)
	}
	draground.OnNode(t, agentKC, nodeName)
	if err := rn.Run("railnet-agent", filepath.Join(bin, "railnet-agent"), "--kubeconfig="+agentKC, "--node-name="+nodeName,
		"--sysfs-root="+fixture, "--rdma-netns-mode=shared", "--discovery-interval=1s", "--ipam-gc-grace=20s", "--dra"); err != nil {
		t.Fatal(err)
	}
	draground.StartGPUDriver(t, c, rn, bin, fixture)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("railnet-agent log ends:\n%s\ngpu-dra log ends:\n%s", rn.Logs("railnet-agent", 60), rn.Logs("gpu-dra", 20))
		}
	})

	draground.ApplyDeviceClasses(ctx, t, c)
	chart, err := ground.ChartDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(chart, "docs", "examples", "dra-claim-template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applyKinds(ctx, t, c, example, "ResourceClaimTemplate")
	return &env{c: c, sn: sn, node: rn}
}

// clusterConf is the node's CNI: ptp for eth0, then railnet-dra-cni whose
// rail i runs what rail i's SpiderMultusConfig renders (macvlan on the rail
// NIC → railnet-ipam on the seed's pool gpu<i+1>-net1<i+1> →
// railnet-coordinator), so the pod gets exactly its claimed rails as
// net<rail+1> with policy routing.
func clusterConf(podCIDR string) []byte {
	rails := map[string]any{}
	for i, r := range simnode.SeedRails() {
		rails[fmt.Sprint(i)] = map[string]any{"cniVersion": "1.0.0", "name": fmt.Sprintf("gpu%d-macvlan", i+1),
			"plugins": []any{
				map[string]any{"type": "macvlan", "master": r.Master, "mode": "bridge",
					"ipam": map[string]any{"type": "railnet-ipam", "ippools": map[string]any{"ipv4": []string{fmt.Sprintf("gpu%d-net1%d", i+1, i+1)}}}},
				map[string]any{"type": "railnet-coordinator"},
			}}
	}
	b, _ := json.Marshal(map[string]any{"cniVersion": "1.0.0", "name": "cluster", "plugins": []any{
		map[string]any{"type": "ptp", "ipam": map[string]any{"type": "host-local", "subnet": podCIDR}},
		map[string]any{"type": "railnet-dra-cni", "rails": rails},
		map[string]any{"type": "loopback"},
	}})
	return b
}

// railInterfaces lists the pod's net<N> interfaces and their IPv4 addresses.
func railInterfaces(ctx context.Context, t *testing.T, c *ground.Cluster, pod string) map[string]string {
	t.Helper()
	out, err := c.ExecWhenReady(ctx, time.Minute, ns, pod, "main", "ip", "-o", "-4", "addr", "show")
	if err != nil {
		t.Fatalf("ip addr in %s: %v\n%s", pod, err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[1], "net") {
			got[f[1]] = f[3]
		}
	}
	return got
}

func applyKinds(ctx context.Context, t *testing.T, c *ground.Cluster, data []byte, kind string) {
	t.Helper()
	objs, err := ground.DecodeYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		if o.GetKind() == kind {
			if err := c.Client.Create(ctx, o); err != nil {
				t.Fatalf("create %s %s: %v", kind, o.GetName(), err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no %s in:\n%s", kind, data)
	}
}

func attrString(d resourceapi.Device, name string) string {
	domain, id, _ := strings.Cut(name, "/")
	for _, k := range []resourceapi.QualifiedName{resourceapi.QualifiedName(name), resourceapi.QualifiedName(id)} {
		if v, ok := d.Attributes[k]; ok && v.StringValue != nil && (k == resourceapi.QualifiedName(name) || domain == dra.DriverName) {
			return *v.StringValue
		}
	}
	return ""
}

// claimPod runs a busybox pod with one claim and waits until it runs.
func claimPod(ctx context.Context, t *testing.T, c *ground.Cluster, name string, claim *corev1.PodResourceClaim) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			ResourceClaims: []corev1.PodResourceClaim{*claim},
			Containers: []corev1.Container{{Name: "main", Image: realnode.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command:   []string{"sleep", "3600"},
				Resources: corev1.ResourceRequirements{Claims: []corev1.ResourceClaim{{Name: claim.Name}}}}},
			TerminationGracePeriodSeconds: new(int64),
		},
	}
	if err := c.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	story.WaitFor(ctx, t, "pod "+name+" running", func() (bool, string) {
		p := &corev1.Pod{}
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(pod), p); err != nil {
			return false, err.Error()
		}
		*pod = *p
		if p.Status.Phase == corev1.PodRunning {
			return true, ""
		}
		var evs corev1.EventList
		_ = c.Client.List(ctx, &evs, client.InNamespace(ns))
		msgs := []string{string(p.Status.Phase)}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == name {
				msgs = append(msgs, e.Reason+": "+e.Message)
			}
		}
		return false, strings.Join(msgs, " | ")
	})
	return pod
}

// podClaim returns the pod's (only) allocated ResourceClaim.
func podClaim(ctx context.Context, t *testing.T, c *ground.Cluster, pod *corev1.Pod) *resourceapi.ResourceClaim {
	t.Helper()
	name := ""
	if s := pod.Status.ResourceClaimStatuses; len(s) == 1 && s[0].ResourceClaimName != nil {
		name = *s[0].ResourceClaimName
	} else if pod.Spec.ResourceClaims[0].ResourceClaimName != nil {
		name = *pod.Spec.ResourceClaims[0].ResourceClaimName
	}
	cl := &resourceapi.ResourceClaim{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cl); err != nil {
		t.Fatalf("claim of pod %s (%q): %v", pod.Name, name, err)
	}
	if cl.Status.Allocation == nil {
		t.Fatalf("claim %s of running pod %s is not allocated", name, pod.Name)
	}
	return cl
}

// allocated returns the GPU and rail indexes of a claim, sorted.
func allocated(cl *resourceapi.ResourceClaim) (gpus, rails []int) { return draground.Allocated(cl) }

func readClaimFile(t *testing.T, n *realnode.Node, uid string) claimfiles.PreparedClaim {
	t.Helper()
	b, err := os.ReadFile(n.HostPath(claimfiles.ClaimFile(realnode.KubeletRoot, uid)))
	if err != nil {
		t.Fatalf("claim file: %v", err)
	}
	var pc claimfiles.PreparedClaim
	if err := json.Unmarshal(b, &pc); err != nil {
		t.Fatal(err)
	}
	return pc
}

func waitSlice(ctx context.Context, t *testing.T, c *ground.Cluster, driver string, ok func(*resourceapi.ResourceSlice) bool) *resourceapi.ResourceSlice {
	t.Helper()
	var found *resourceapi.ResourceSlice
	story.WaitFor(ctx, t, "the "+driver+" ResourceSlice of "+nodeName, func() (bool, string) {
		var list resourceapi.ResourceSliceList
		if err := c.Client.List(ctx, &list); err != nil {
			return false, err.Error()
		}
		var seen []string
		for i := range list.Items {
			s := &list.Items[i]
			if s.Spec.Driver == driver && s.Spec.NodeName != nil && *s.Spec.NodeName == nodeName {
				seen = append(seen, fmt.Sprintf("%s with %d devices", s.Name, len(s.Spec.Devices)))
				if ok(s) {
					found = s
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("slices %v", seen)
	})
	return found
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("test/e2e/dra needs root (real nodes)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}
