package minikubelet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/minikubelet"
	"github.com/railnet/railnet/test/poll"
	"github.com/railnet/railnet/test/simnode"
)

func TestPodGetsRailInterfaceThroughMultus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	binDir := cniBinDir(ctx, t)
	fabric := simnode.NewFabric(t, simnode.SeedRails()[:2])
	node := fabric.AddNode(t, "worker1")
	cluster.CreateNode(t, ground.NodeSpec{Name: node.Name})
	cluster.EnsureNamespace(t, "spiderpool")
	cluster.EnsureNamespace(t, "train")

	// Unix socket paths must stay under 108 bytes: a short folder.
	dir, err := os.MkdirTemp("", "mk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	confDir := filepath.Join(dir, "net.d")
	writeMultusConf(t, confDir, binDir, filepath.Join(dir, "multus"))
	for i, rail := range fabric.Rails {
		createMacvlanNAD(ctx, t, fmt.Sprintf("gpu%d-macvlan", i+1), rail.Master, 11+i, filepath.Join(dir, "host-local"))
	}

	kl, err := minikubelet.New(minikubelet.Config{
		NodeName: node.Name, REST: cluster.Config, PluginDir: filepath.Join(dir, "device-plugins"),
		NodeNetns: node.Netns.Path(), CNIConfDir: confDir, CNIBinDirs: []string{binDir},
		CNICacheDir: filepath.Join(dir, "cni-cache"),
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- kl.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("mini-kubelet: %v", err)
		}
	})

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "trainer-0", Namespace: "train", Annotations: map[string]string{
			nadv1.NetworkAttachmentAnnot: `[{"name":"gpu1-macvlan","namespace":"spiderpool"},{"name":"gpu2-macvlan","namespace":"spiderpool"}]`,
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "rdma-tools"}}},
	}
	if err := cluster.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 2*time.Minute, "pod trainer-0 running with Multus network status", func() error {
		if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return err
		}
		if pod.Status.Phase != corev1.PodRunning || pod.Annotations[nadv1.NetworkStatusAnnot] == "" {
			return fmt.Errorf("phase %s, node %q, events: %s", pod.Status.Phase, pod.Spec.NodeName, events(ctx, t, pod))
		}
		return nil
	})
	if pod.Spec.NodeName != node.Name || pod.Status.PodIP == "" {
		t.Fatalf("pod on %q with IP %q, want node %s and a cluster-network IP", pod.Spec.NodeName, pod.Status.PodIP, node.Name)
	}

	var statuses []nadv1.NetworkStatus
	if err := json.Unmarshal([]byte(pod.Annotations[nadv1.NetworkStatusAnnot]), &statuses); err != nil {
		t.Fatalf("network-status annotation: %v", err)
	}
	byIf := map[string]nadv1.NetworkStatus{}
	for _, s := range statuses {
		byIf[s.Interface] = s
	}
	for i := range fabric.Rails {
		ifName := fmt.Sprintf("net%d", i+1)
		s, ok := byIf[ifName]
		if !ok || len(s.IPs) != 1 || !strings.HasPrefix(s.IPs[0], fmt.Sprintf("172.16.%d.", 11+i)) {
			t.Fatalf("network-status has no %s on rail %d's subnet: %s", ifName, i, pod.Annotations[nadv1.NetworkStatusAnnot])
		}
		if s.Name != fmt.Sprintf("spiderpool/gpu%d-macvlan", i+1) {
			t.Errorf("%s network name %q", ifName, s.Name)
		}
	}

	sb, ok := kl.Sandbox(string(pod.UID))
	if !ok {
		t.Fatal("the mini-kubelet has no sandbox for the running pod")
	}
	// Each rail interface reaches its rail's gateway through the macvlan on
	// the node's rail NIC and the rail switch.
	for i, rail := range fabric.Rails {
		gw := rail.Gateway.Addr().String()
		l := listenIn(t, fabric.Switch(i), net.JoinHostPort(gw, "7000"))
		err := ns.WithNetNSPath(sb.NetnsPath, func(ns.NetNS) error {
			link, err := netlink.LinkByName(fmt.Sprintf("net%d", i+1))
			if err != nil {
				return err
			}
			if link.Type() != "macvlan" {
				return fmt.Errorf("net%d is a %s, want macvlan", i+1, link.Type())
			}
			c, err := net.DialTimeout("tcp", net.JoinHostPort(gw, "7000"), 5*time.Second)
			if err != nil {
				return err
			}
			return c.Close()
		})
		l.Close()
		if err != nil {
			t.Fatalf("rail %d: pod cannot reach gateway %s: %v", i, gw, err)
		}
	}

	if err := cluster.Client.Delete(ctx, pod); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 2*time.Minute, "pod trainer-0 deleted", func() error {
		if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("get: %v", err)
		}
		return nil
	})
	if _, err := os.Stat(sb.NetnsPath); !os.IsNotExist(err) {
		t.Errorf("pod network namespace %s still exists after deletion (%v)", sb.NetnsPath, err)
	}
	if _, ok := kl.Sandbox(string(pod.UID)); ok {
		t.Error("the mini-kubelet still holds the deleted pod's sandbox")
	}
	// host-local released the rail addresses on CNI DEL.
	leases, _ := filepath.Glob(filepath.Join(dir, "host-local", "*", "172.16.*"))
	if len(leases) != 0 {
		t.Errorf("host-local still holds %v after the pod was deleted", leases)
	}
}

// cniBinDir builds Multus and the reference plugins (cached) and links them
// into one folder, which is what Multus searches for its delegates.
func cniBinDir(ctx context.Context, t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []ground.GoTool{ground.CNIPluginsTool(), ground.MultusTool()} {
		src, err := ground.BuildGoTool(ctx, tool)
		if err != nil {
			t.Fatal(err)
		}
		for name := range tool.Binaries {
			if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func writeMultusConf(t *testing.T, confDir, binDir, multusDir string) {
	t.Helper()
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "multus-cni-network",
		"plugins": []any{map[string]any{
			"type": "multus", "cniVersion": "1.0.0",
			"kubeconfig": cluster.Kubeconfig, "binDir": binDir, "cniDir": multusDir, "confDir": confDir,
			"logToStderr": true, "logLevel": "error",
			"delegates": []any{map[string]any{
				"cniVersion": "1.0.0", "name": "cluster",
				"plugins": []any{map[string]any{
					"type": "ptp",
					"ipam": map[string]any{"type": "host-local", "subnet": "10.244.1.0/24", "dataDir": filepath.Join(multusDir, "cluster-ipam")},
				}},
			}},
		}},
	}
	b, _ := json.Marshal(conf)
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(confDir, "00-multus.conflist"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func createMacvlanNAD(ctx context.Context, t *testing.T, name, master string, octet int, dataDir string) {
	t.Helper()
	cfg := fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"type":"macvlan","master":%q,"mode":"bridge",
"ipam":{"type":"host-local","dataDir":%q,"ranges":[[{"subnet":"172.16.%d.0/24","rangeStart":"172.16.%d.10","rangeEnd":"172.16.%d.20"}]]}}`,
		name, master, dataDir, octet, octet, octet)
	nad := &nadv1.NetworkAttachmentDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "spiderpool"},
		Spec:       nadv1.NetworkAttachmentDefinitionSpec{Config: cfg},
	}
	if err := cluster.Client.Create(ctx, nad); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), nad) })
}

func listenIn(t *testing.T, netns ns.NetNS, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	err := netns.Do(func(ns.NetNS) error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in the rail switch: %v", addr, err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l
}

func events(ctx context.Context, t *testing.T, pod *corev1.Pod) string {
	var list corev1.EventList
	if err := cluster.Client.List(ctx, &list, client.InNamespace(pod.Namespace)); err != nil {
		return err.Error()
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == pod.Name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return strings.Join(out, " | ")
}
