package railpath

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/test/story"
)

func TestRailPath(t *testing.T) {
	var log io.Writer = io.Discard
	if testing.Verbose() {
		log = os.Stderr
	}
	e := story.Up(t, story.Options{Nodes: 2, Coordinator: coordinator, Log: log})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	c := e.Cluster.Client

	// Each node's agent serves 8 RDMA resources of 100 shares through its
	// node's kubelet, and reports 8 rails up.
	e.WaitNodesReady(ctx, t)

	if _, err := e.Cluster.Apply(ctx, story.SeedManifests()); err != nil {
		t.Fatalf("the seed's pools and configs were refused: %v", err)
	}
	for i := range 8 {
		name := fmt.Sprintf("gpu%d-macvlan", i+1)
		story.WaitFor(ctx, t, "NetworkAttachmentDefinition "+name, func() (bool, string) {
			err := c.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: name}, &nadv1.NetworkAttachmentDefinition{})
			return err == nil, fmt.Sprint(err)
		})
	}

	// The kernel's RoCE GID management, on the nodes' fixture sysfs trees.
	kernel := e.StartRoCEKernel(ctx, t)

	e.Cluster.EnsureNamespace(t, "train")
	dep := story.Trainer(2)
	if err := c.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	pods := e.WaitRunning(ctx, t, 2)

	wantNetworks := make([]string, 8)
	for i := range wantNetworks {
		wantNetworks[i] = fmt.Sprintf(`{"name":"gpu%d-macvlan","namespace":"spiderpool"}`, i+1)
	}
	seenIPs := map[string]string{}
	nodes := map[string]bool{}
	for _, p := range pods {
		nodes[p.Spec.NodeName] = true
		if got := strings.ReplaceAll(p.Annotations[nadv1.NetworkAttachmentAnnot], "\n", ""); got != "["+strings.Join(wantNetworks, ",")+"]" {
			t.Errorf("pod %s networks annotation = %s", p.Name, got)
		}
		for _, r := range e.Resources {
			if q := p.Spec.Containers[0].Resources.Limits[corev1.ResourceName(r)]; q.Value() != 1 {
				t.Errorf("pod %s has %s limit %s, want 1", p.Name, r, q.String())
			}
		}
		var st []nadv1.NetworkStatus
		if err := json.Unmarshal([]byte(p.Annotations[nadv1.NetworkStatusAnnot]), &st); err != nil {
			t.Fatalf("pod %s network-status: %v", p.Name, err)
		}
		for i := range 8 {
			ifName := fmt.Sprintf("net%d", i+1)
			idx := slices.IndexFunc(st, func(s nadv1.NetworkStatus) bool { return s.Interface == ifName })
			if idx < 0 || len(st[idx].IPs) != 1 || !strings.HasPrefix(st[idx].IPs[0], fmt.Sprintf("172.16.%d.", 11+i)) {
				t.Fatalf("pod %s: no %s on rail %d's subnet in %s", p.Name, ifName, i+1, p.Annotations[nadv1.NetworkStatusAnnot])
			}
			if other, dup := seenIPs[st[idx].IPs[0]]; dup {
				t.Errorf("%s is used by %s and %s/%s", st[idx].IPs[0], other, p.Name, ifName)
			}
			seenIPs[st[idx].IPs[0]] = p.Name + "/" + ifName
		}
	}
	if len(seenIPs) != 16 {
		t.Fatalf("%d distinct rail addresses for 2 pods × 8 rails", len(seenIPs))
	}
	checkPolicyRouting(ctx, t, e, pods[0])
	for _, p := range pods {
		checkNCCL(ctx, t, e, kernel, p)
	}

	var allocs railnetv1.IPAllocationList
	if err := c.List(ctx, &allocs); err != nil || len(allocs.Items) != 16 {
		t.Fatalf("%d IPAllocations (%v), want 16", len(allocs.Items), err)
	}

	// What only a real node can show: restarts of the agent, the kubelet and
	// containerd leave the running pods alone and the RDMA resources served.
	t.Run("agent restart", func(t *testing.T) {
		must(t, e.Nodes[0].RestartAgent())
		e.WaitNodesReady(ctx, t)
		assertUntouched(ctx, t, e, pods)
		// The restarted agent's device plugin serves Allocate again.
		runOn(ctx, t, e, "worker1")
	})
	t.Run("kubelet restart: the device plugin registers again", func(t *testing.T) {
		n := e.Nodes[1].Real
		must(t, n.StopKubelet())
		must(t, n.StartKubelet())
		n.WaitReady(ctx, t)
		e.WaitNodesReady(ctx, t) // allocatable is back: the plugin re-registered
		assertUntouched(ctx, t, e, pods)
		runOn(ctx, t, e, "worker2")
	})
	t.Run("containerd restart", func(t *testing.T) {
		n := e.Nodes[0].Real
		must(t, n.StopContainerd())
		must(t, n.StartContainerd(ctx))
		assertUntouched(ctx, t, e, pods)
		runOn(ctx, t, e, "worker1")
	})
	t.Run("rails at different GID indices: the pod is told", func(t *testing.T) {
		checkNCCLMismatch(ctx, t, e, kernel)
	})
	t.Run("pod deleted while its sandbox is created", func(t *testing.T) {
		deletedDuringCreate(ctx, t, e)
	})

	// Rail 3 of worker1 goes down: the next pod avoids worker1.
	if err := e.Nodes[0].SetRail(2, false); err != nil {
		t.Fatal(err)
	}
	e.WaitRailDown(ctx, t, "worker1", 2)
	e.Scale(ctx, t, dep, 3)
	third := e.WaitRunning(ctx, t, 3)
	for _, p := range third {
		if !slices.ContainsFunc(pods, func(o corev1.Pod) bool { return o.Name == p.Name }) && p.Spec.NodeName != "worker2" {
			t.Fatalf("pod %s went to %s although worker1's rail 2 is down", p.Name, p.Spec.NodeName)
		}
	}

	// The same rail down on worker2 too: the next pod cannot be placed. The
	// agent's device plugin has marked the rail's RDMA resource unhealthy
	// on both nodes, so the scheduler's own resource check already refuses
	// them (the extender would refuse them with the NIC named otherwise).
	if err := e.Nodes[1].SetRail(2, false); err != nil {
		t.Fatal(err)
	}
	e.WaitRailDown(ctx, t, "worker2", 2)
	e.Scale(ctx, t, dep, 4)
	story.WaitFor(ctx, t, "a FailedScheduling event naming the down rail's resource or NIC", func() (bool, string) {
		var evs corev1.EventList
		_ = c.List(ctx, &evs, client.InNamespace("train"))
		var last string
		for _, ev := range evs.Items {
			if ev.Reason == "FailedScheduling" {
				last = ev.Message
				if strings.Contains(ev.Message, "enp13s0f0np0") || strings.Contains(ev.Message, "Insufficient "+e.Resources[2]) {
					t.Logf("FailedScheduling: %s", ev.Message)
					return true, ""
				}
			}
		}
		return false, last
	})

	// The agent of worker2 dies; deleting the Deployment still tears every
	// pod down (railnet-ipam's DEL succeeds without the agent) and the
	// addresses of worker2's pods are collected once its agent is back.
	worker2 := e.Nodes[1].Real
	must(t, worker2.Kill("railnet-agent", syscall.SIGKILL, 0))
	if err := c.Delete(ctx, dep, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
		t.Fatal(err)
	}
	story.WaitFor(ctx, t, "every trainer pod gone with worker2's agent down", func() (bool, string) {
		var pl corev1.PodList
		_ = c.List(ctx, &pl, client.InNamespace("train"))
		var names []string
		for _, p := range pl.Items {
			names = append(names, p.Name+"@"+p.Spec.NodeName)
		}
		return len(pl.Items) == 0, fmt.Sprint(names)
	})
	var left railnetv1.IPAllocationList
	must(t, c.List(ctx, &left))
	for _, a := range left.Items {
		if a.Spec.Node != "worker2" {
			t.Errorf("IPAllocation %s of %s on %s survived its pod's teardown", a.Name, a.Spec.PodName, a.Spec.Node)
		}
	}
	t.Logf("%d addresses of worker2's pods wait for its agent", len(left.Items))
	// Their NCCL folders too (the DEL could not reach the agent).
	ncclDir := worker2.HostPath("/run/railnet/nccl")
	if folders, err := os.ReadDir(ncclDir); err != nil || len(folders) == 0 {
		t.Errorf("worker2's NCCL folders with its agent down: %d (%v), want its gone pods' folders", len(folders), err)
	}
	must(t, worker2.Restart("railnet-agent"))
	story.WaitFor(ctx, t, "worker2's agent collecting the NCCL folders of its gone pods", func() (bool, string) {
		folders, err := os.ReadDir(ncclDir)
		var names []string
		for _, f := range folders {
			names = append(names, f.Name())
		}
		return err == nil && len(folders) == 0, fmt.Sprint(names, err)
	})
	story.WaitFor(ctx, t, "all IPAllocations released", func() (bool, string) {
		var list railnetv1.IPAllocationList
		_ = c.List(ctx, &list)
		return len(list.Items) == 0, fmt.Sprintf("%d allocations", len(list.Items))
	})
}

// assertUntouched checks the pods run their first containers still (no
// restart) and answer exec.
func assertUntouched(ctx context.Context, t *testing.T, e *story.Env, pods []corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		cur := &corev1.Pod{}
		must(t, e.Cluster.Client.Get(ctx, client.ObjectKeyFromObject(&p), cur))
		if cur.UID != p.UID || cur.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: uid %s phase %s, want the same pod running", p.Name, cur.UID, cur.Status.Phase)
		}
		for _, cs := range cur.Status.ContainerStatuses {
			if cs.RestartCount != 0 || cs.State.Running == nil {
				t.Errorf("pod %s container %s: restarts %d, state %+v", p.Name, cs.Name, cs.RestartCount, cs.State)
			}
		}
		if _, err := e.Cluster.ExecWhenReady(ctx, time.Minute, p.Namespace, p.Name, p.Spec.Containers[0].Name, "true"); err != nil {
			t.Errorf("exec in %s: %v", p.Name, err)
		}
	}
}

// runOn runs an annotated pod on node (through the webhook, the scheduler
// and the extender), checks its 8 rails, and deletes it.
func runOn(ctx context.Context, t *testing.T, e *story.Env, node string) {
	t.Helper()
	c := e.Cluster.Client
	tmpl := story.Trainer(1).Spec.Template
	p := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	p.GenerateName, p.Namespace = "probe-"+node+"-", "train"
	p.Labels = map[string]string{"app": "probe"}
	p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: node}
	tmplPod := p.DeepCopy()
	must(t, c.Create(ctx, p))
	rejected := 0
	story.WaitFor(ctx, t, "pod "+p.Name+" running on "+node, func() (bool, string) {
		_ = c.Get(ctx, client.ObjectKeyFromObject(p), p)
		if p.Status.Phase == corev1.PodFailed && p.Status.Reason == "UnexpectedAdmissionError" && rejected < 3 {
			// Bound while the kubelet still held the restarted device
			// plugin's old endpoint (the Node's allocatable lags the
			// device manager), the pod was refused by the kubelet at
			// admission; a controller makes another, and so does this
			// probe, a few times at most.
			rejected++
			t.Logf("pod %s refused by the kubelet (%s), making another", p.Name, p.Status.Message)
			_ = c.Delete(ctx, p)
			p = tmplPod.DeepCopy()
			must(t, c.Create(ctx, p))
			return false, "recreated"
		}
		if p.Status.Phase == corev1.PodFailed {
			t.Fatalf("pod %s on %s failed: %s: %s", p.Name, node, p.Status.Reason, p.Status.Message)
		}
		return p.Status.Phase == corev1.PodRunning, fmt.Sprintf("phase %s, conditions %v", p.Status.Phase, p.Status.Conditions)
	})
	out, err := e.Cluster.Exec(ctx, p.Namespace, p.Name, p.Spec.Containers[0].Name, "ls", "/sys/class/net")
	if err != nil || !strings.Contains(out, "net8") {
		t.Errorf("pod %s on %s: interfaces %q, %v; want net1..net8", p.Name, node, out, err)
	}
	must(t, c.Delete(ctx, p))
	story.WaitFor(ctx, t, "pod "+p.Name+" gone", func() (bool, string) {
		err := c.Get(ctx, client.ObjectKeyFromObject(p), &corev1.Pod{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// deletedDuringCreate deletes an annotated pod the moment it is bound, while
// the kubelet sets its sandbox up (CNI ADD of 8 rails), and checks it goes
// away and leaves no address behind.
func deletedDuringCreate(ctx context.Context, t *testing.T, e *story.Env) {
	c := e.Cluster.Client
	pod := story.Trainer(1).Spec.Template
	pod.Name, pod.Namespace = "short-lived", "train"
	p := &corev1.Pod{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}
	p.Labels = map[string]string{"app": "short-lived"}
	must(t, c.Create(ctx, p))
	story.WaitFor(ctx, t, "short-lived pod bound", func() (bool, string) {
		_ = c.Get(ctx, client.ObjectKeyFromObject(p), p)
		return p.Spec.NodeName != "", string(p.Status.Phase)
	})
	must(t, c.Delete(ctx, p, client.GracePeriodSeconds(0)))
	story.WaitFor(ctx, t, "short-lived pod gone and its addresses released", func() (bool, string) {
		err := c.Get(ctx, client.ObjectKeyFromObject(p), &corev1.Pod{})
		var list railnetv1.IPAllocationList
		_ = c.List(ctx, &list)
		held := 0
		for _, a := range list.Items {
			if a.Spec.PodUID == string(p.UID) {
				held++
			}
		}
		return apierrors.IsNotFound(err) && held == 0, fmt.Sprintf("pod: %v; %d addresses held", err, held)
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
