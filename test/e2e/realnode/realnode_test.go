package realnode

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
	"github.com/railnet/railnet/test/realnode"
)

func TestTwoRealNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	network := realnode.NewNetwork(t)
	c := ground.Start(t, ground.Options{RealNodes: true, AdvertiseAddress: network.Gateway.String()})
	bins, err := realnode.Build(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*realnode.Node{
		realnode.Start(t, c, network, bins, realnode.Spec{Name: "node-a", CNIConf: ptpConf, CNIBin: cniBin(t), KubeProxy: true}),
		realnode.Start(t, c, network, bins, realnode.Spec{Name: "node-b", CNIConf: ptpConf, CNIBin: cniBin(t), KubeProxy: true}),
	}
	c.EnsureNamespace(t, "work")

	t.Run("nodes report containerd and their address", func(t *testing.T) {
		for _, n := range nodes {
			node := &corev1.Node{}
			if err := c.Client.Get(ctx, client.ObjectKey{Name: n.Name}, node); err != nil {
				t.Fatal(err)
			}
			if rt := node.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(rt, "containerd://1.6") {
				t.Errorf("%s: container runtime %q, want containerd://1.6.x", n.Name, rt)
			}
			if kv := node.Status.NodeInfo.KubeletVersion; kv != ground.KubernetesVersion {
				t.Errorf("%s: kubelet %q, want %s", n.Name, kv, ground.KubernetesVersion)
			}
			if !hasAddress(node, corev1.NodeInternalIP, n.IP.String()) {
				t.Errorf("%s: addresses %v, want InternalIP %s", n.Name, node.Status.Addresses, n.IP)
			}
		}
	})

	pods := map[string]string{}
	for _, n := range nodes {
		pods[n.Name] = runPod(ctx, t, c, "work", "sleeper-"+n.Name, n.Name)
	}

	t.Run("logs and exec through the kubelet", func(t *testing.T) {
		for node, pod := range pods {
			logs, err := c.PodLogs(ctx, "work", pod, "main")
			if err != nil || !strings.Contains(logs, "started on "+node) {
				t.Errorf("logs of %s: %q, %v", pod, logs, err)
			}
			out, err := c.Exec(ctx, "work", pod, "main", "cat", "/etc/hostname")
			if err != nil || strings.TrimSpace(out) != pod {
				t.Errorf("exec in %s: %q, %v", pod, out, err)
			}
		}
	})

	t.Run("each node has its own network namespace", func(t *testing.T) {
		out, err := c.Exec(ctx, "work", pods["node-a"], "main", "ip", "-4", "addr", "show", "eth0")
		prefix := strings.TrimSuffix(nodes[0].PodCIDR.Addr().String(), "0")
		if err != nil || !strings.Contains(out, prefix) {
			t.Errorf("pod on node-a: eth0 %q, %v; want an address of node-a's %s", out, err, nodes[0].PodCIDR)
		}
	})

	t.Run("pods reach the API server through the kubernetes Service (kube-proxy)", func(t *testing.T) {
		for node, pod := range pods {
			// The Service's ClusterIP is DNATed by the node's kube-proxy to
			// the apiserver's advertised address; the connection is real.
			out, err := c.ExecWhenReady(ctx, 30*time.Second, "work", pod, "main", "sh", "-c",
				`nc -w 3 "$KUBERNETES_SERVICE_HOST" "$KUBERNETES_SERVICE_PORT" </dev/null && echo connected`)
			if err != nil || !strings.Contains(out, "connected") {
				t.Errorf("pod on %s cannot reach the kubernetes Service: %q, %v", node, out, err)
			}
		}
	})

	t.Run("kubelet restart keeps pods running", func(t *testing.T) {
		n := nodes[0]
		if err := n.StopKubelet(); err != nil {
			t.Fatal(err)
		}
		if err := n.StartKubelet(); err != nil {
			t.Fatal(err)
		}
		n.WaitReady(ctx, t)
		assertSamePodRunning(ctx, t, c, "work", pods[n.Name])
	})

	t.Run("containerd restart keeps containers running, new pods start", func(t *testing.T) {
		n := nodes[1]
		if err := n.StopContainerd(); err != nil {
			t.Fatal(err)
		}
		if err := n.StartContainerd(ctx); err != nil {
			t.Fatal(err)
		}
		assertSamePodRunning(ctx, t, c, "work", pods[n.Name])
		runPod(ctx, t, c, "work", "after-restart", n.Name)
	})
}

func ptpConf(n *realnode.Node) map[string][]byte {
	return map[string][]byte{"10-cluster.conflist": []byte(fmt.Sprintf(`{"cniVersion":"1.0.0","name":"cluster","plugins":[
{"type":"ptp","ipam":{"type":"host-local","subnet":%q,"routes":[{"dst":"0.0.0.0/0"}]}},{"type":"loopback"}]}`, n.PodCIDR))}
}

func cniBin(t *testing.T) map[string]string {
	dir, err := ground.BuildGoTool(t.Context(), ground.CNIPluginsTool())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name := range ground.CNIPluginsTool().Binaries {
		out[name] = dir + "/" + name
	}
	return out
}

// runPod creates a busybox pod pinned to node and waits until it runs.
func runPod(ctx context.Context, t *testing.T, c *ground.Cluster, ns, name, node string) string {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{Name: "main", Image: realnode.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", "echo started on " + node + "; exec sleep 3600"}}},
			TerminationGracePeriodSeconds: new(int64),
		},
	}
	if err := c.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitPod(ctx, t, c, ns, name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	return name
}

func waitPod(ctx context.Context, t *testing.T, c *ground.Cluster, ns, name string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	err := poll.Wait(ctx, 2*time.Minute, "pod "+ns+"/"+name, func() error {
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			return err
		}
		if !ok(p) {
			return fmt.Errorf("phase %s", p.Status.Phase)
		}
		return nil
	})
	if err != nil {
		var evs corev1.EventList
		_ = c.Client.List(ctx, &evs, client.InNamespace(ns))
		var msgs []string
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == name {
				msgs = append(msgs, e.Reason+": "+e.Message)
			}
		}
		t.Fatalf("%v; events: %s", err, strings.Join(msgs, " | "))
	}
	return p
}

// assertSamePodRunning checks the pod still runs its first container
// instance (no restart, same start time).
func assertSamePodRunning(ctx context.Context, t *testing.T, c *ground.Cluster, ns, name string) {
	t.Helper()
	p := waitPod(ctx, t, c, ns, name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	for _, cs := range p.Status.ContainerStatuses {
		if cs.RestartCount != 0 || cs.State.Running == nil {
			t.Errorf("pod %s container %s: restarts %d, state %+v", name, cs.Name, cs.RestartCount, cs.State)
		}
	}
	if _, err := c.ExecWhenReady(ctx, time.Minute, ns, name, "main", "true"); err != nil {
		t.Errorf("exec in %s after the restart: %v", name, err)
	}
}

func hasAddress(n *corev1.Node, typ corev1.NodeAddressType, addr string) bool {
	for _, a := range n.Status.Addresses {
		if a.Type == typ && a.Address == addr {
			return true
		}
	}
	return false
}
