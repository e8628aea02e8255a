package railpath

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/nodeagent/nccl"
	"github.com/railnet/railnet/test/simnode"
	"github.com/railnet/railnet/test/story"
)

// checkNCCL reads, inside the running pod, what NCCL will read: the env the
// webhook injected and the conf file the node agent wrote after CNI ADD,
// mounted from the pod's own folder. The file names the pod's rails' HCAs in
// rail order and each rail's own RoCE v2 GID index — the index the kernel
// stand-in gave the pod's address on that port of the node's sysfs tree —
// and NCCL_IB_GID_INDEX when they agree; when they differ, the pod carries
// the warning annotation instead.
func checkNCCL(ctx context.Context, t *testing.T, e *story.Env, k *story.RoCEKernel, p corev1.Pod) {
	t.Helper()
	c := p.Spec.Containers[0].Name
	env, err := e.Cluster.Exec(ctx, p.Namespace, p.Name, c, "env")
	if err != nil {
		t.Fatalf("env in %s: %v", p.Name, err)
	}
	vars := strings.Split(strings.TrimSpace(env), "\n")
	for _, want := range []string{"NCCL_CONF_FILE=/run/railnet/nccl/nccl.conf", "NCCL_SOCKET_IFNAME==eth0", "RAILNET_POD_UID=" + string(p.UID)} {
		if !slices.Contains(vars, want) {
			t.Errorf("pod %s: env lacks %s:\n%s", p.Name, want, env)
		}
	}
	for _, v := range vars {
		if strings.HasPrefix(v, "NCCL_IB_GID_INDEX=") || strings.HasPrefix(v, "NCCL_IB_HCA=") {
			t.Errorf("pod %s: railnet put %s in the environment, where it would override the conf file for good", p.Name, v)
		}
	}
	if ls, err := e.Cluster.Exec(ctx, p.Namespace, p.Name, c, "ls", "/run/railnet/nccl"); err != nil || strings.Fields(ls)[0] != "nccl.conf" || len(strings.Fields(ls)) != 2 {
		t.Errorf("pod %s sees %q (%v) in /run/railnet/nccl, want only its own nccl.conf and rails", p.Name, ls, err)
	}
	conf, err := e.Cluster.Exec(ctx, p.Namespace, p.Name, c, "cat", "/run/railnet/nccl/nccl.conf")
	if err != nil {
		t.Fatalf("cat the NCCL conf file in %s: %v", p.Name, err)
	}
	t.Logf("pod %s on %s: %s", p.Name, p.Spec.NodeName, conf)

	var root string
	for _, n := range e.Nodes {
		if n.Real.Name == p.Spec.NodeName {
			root = n.SysfsRoot
		}
	}
	var hcas []string
	indices := map[int]bool{}
	var first int
	for i, r := range simnode.SeedRails() {
		port, ok := nccl.SysfsPort(root, r.Master)
		if !ok {
			t.Fatalf("no RDMA port for %s on %s", r.Master, p.Spec.NodeName)
		}
		hcas = append(hcas, fmt.Sprintf("%s:%d", port.HCA, port.Port))
		ifName := fmt.Sprintf("net%d", i+1)
		idx, ok := k.Index(string(p.UID), ifName)
		if !ok {
			t.Fatalf("pod %s %s: the kernel stand-in gave it no GID", p.Name, ifName)
		}
		if i == 0 {
			first = idx
		}
		indices[idx] = true
		line := fmt.Sprintf("# rail %s: hca %s port %d ip ", ifName, port.HCA, port.Port)
		if !strings.Contains(conf, line) || !strings.Contains(conf, fmt.Sprintf(" GID index %d\n", idx)) {
			t.Errorf("pod %s: conf file lacks %q… GID index %d", p.Name, line, idx)
		}
	}
	if want := "NCCL_IB_HCA==" + strings.Join(hcas, ",") + "\n"; !strings.Contains(conf, want) {
		t.Errorf("pod %s: conf file lacks %q", p.Name, want)
	}
	if !strings.Contains(conf, "NCCL_SOCKET_IFNAME==eth0\n") {
		t.Errorf("pod %s: conf file lacks NCCL_SOCKET_IFNAME==eth0", p.Name)
	}
	if len(indices) == 1 {
		if want := "NCCL_IB_GID_INDEX=" + strconv.Itoa(first) + "\n"; !strings.HasSuffix(conf, want) {
			t.Errorf("pod %s: all rails at GID index %d, conf file lacks %q", p.Name, first, want)
		}
		return
	}
	// The rails' indices differ (two pods' addresses interleaved on a
	// port): no index, and the pod is told with each rail's index.
	if strings.Contains(conf, "NCCL_IB_GID_INDEX=") {
		t.Errorf("pod %s: rails at GID indices %v, yet the conf file sets one", p.Name, indices)
	}
	story.WaitFor(ctx, t, "pod "+p.Name+" annotated "+nccl.AnnotationWarning, func() (bool, string) {
		cur := &corev1.Pod{}
		_ = e.Cluster.Client.Get(ctx, client.ObjectKeyFromObject(&p), cur)
		w := cur.Annotations[nccl.AnnotationWarning]
		return strings.Contains(w, "sit at different indices") && strings.Contains(w, "net1 ("), w
	})
}

// checkNCCLMismatch gives worker1's rail-3 NIC a host address first, so a
// new pod's own GID sits two slots higher on that port than on its other
// rails: its conf file sets no NCCL_IB_GID_INDEX, and the pod is told — the
// railnet.io/nccl-warning annotation with each rail's index and a Warning
// event — by the node agent, with the chart's permissions.
func checkNCCLMismatch(ctx context.Context, t *testing.T, e *story.Env, k *story.RoCEKernel) {
	c := e.Cluster.Client
	var root string
	for _, n := range e.Nodes {
		if n.Real.Name == "worker1" {
			root = n.SysfsRoot
		}
	}
	undo, err := k.HostAddress(root, simnode.SeedRails()[2].Master, netip.MustParseAddr("172.16.13.250"))
	must(t, err)
	defer func() { must(t, undo()) }()

	tmpl := story.Trainer(1).Spec.Template
	p := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	p.GenerateName, p.Namespace = "gid-mismatch-", "train"
	p.Labels = map[string]string{"app": "gid-mismatch"}
	p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: "worker1"}
	must(t, c.Create(ctx, p))
	story.WaitFor(ctx, t, "pod "+p.Name+" running on worker1", func() (bool, string) {
		_ = c.Get(ctx, client.ObjectKeyFromObject(p), p)
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	})
	i1, _ := k.Index(string(p.UID), "net1")
	i3, _ := k.Index(string(p.UID), "net3")
	if i3 != i1+2 {
		t.Fatalf("pod %s: net3's GID at %d, net1's at %d; the host address should have pushed net3's two slots up", p.Name, i3, i1)
	}
	checkNCCL(ctx, t, e, k, *p)
	story.WaitFor(ctx, t, "a Warning event "+nccl.ReasonGIDIndex+" on pod "+p.Name, func() (bool, string) {
		var evs corev1.EventList
		_ = c.List(ctx, &evs, client.InNamespace(p.Namespace))
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Name == p.Name && ev.Reason == nccl.ReasonGIDIndex && ev.Type == corev1.EventTypeWarning {
				t.Logf("event on %s: %s", p.Name, ev.Message)
				return strings.Contains(ev.Message, fmt.Sprintf("GID index %d", i3)), ev.Message
			}
		}
		return false, "no event"
	})
	must(t, c.Delete(ctx, p))
	story.WaitFor(ctx, t, "pod "+p.Name+" gone", func() (bool, string) {
		err := c.Get(ctx, client.ObjectKeyFromObject(p), &corev1.Pod{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}
