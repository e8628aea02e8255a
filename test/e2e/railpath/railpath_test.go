package railpath

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

	// Each node's agent serves 8 RDMA resources of 100 shares through the
	// mini-kubelet, and reports 8 rails up.
	for _, n := range e.Nodes {
		waitFor(ctx, t, n.Name+" advertises 8 RDMA resources × 100 and 8 rails up", func() (bool, string) {
			node := &corev1.Node{}
			if err := c.Get(ctx, client.ObjectKey{Name: n.Name}, node); err != nil {
				return false, err.Error()
			}
			for _, r := range e.Resources {
				if q := node.Status.Allocatable[corev1.ResourceName(r)]; q.Value() != 100 {
					return false, fmt.Sprintf("allocatable %s = %s", r, q.String())
				}
			}
			return node.Labels[railnetv1.LabelRailsReady] == "8", "labels " + fmt.Sprint(node.Labels)
		})
	}

	if _, err := e.Cluster.Apply(ctx, seedManifests()); err != nil {
		t.Fatalf("the seed's pools and configs were refused: %v", err)
	}
	for i := range 8 {
		name := fmt.Sprintf("gpu%d-macvlan", i+1)
		waitFor(ctx, t, "NetworkAttachmentDefinition "+name, func() (bool, string) {
			err := c.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: name}, &nadv1.NetworkAttachmentDefinition{})
			return err == nil, fmt.Sprint(err)
		})
	}

	e.Cluster.EnsureNamespace(t, "train")
	dep := trainer(2)
	if err := c.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	pods := waitRunning(ctx, t, c, 2)

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
	checkPolicyRouting(t, e, pods[0])

	var allocs railnetv1.IPAllocationList
	if err := c.List(ctx, &allocs); err != nil || len(allocs.Items) != 16 {
		t.Fatalf("%d IPAllocations (%v), want 16", len(allocs.Items), err)
	}

	// Rail 3 of worker1 goes down: the next pod avoids worker1.
	if err := e.Nodes[0].SetRail(2, false); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "worker1 reports rail 2 down", func() (bool, string) {
		node := &corev1.Node{}
		_ = c.Get(ctx, client.ObjectKey{Name: "worker1"}, node)
		return node.Labels[railnetv1.RailLabel(2)] == railnetv1.RailDown, fmt.Sprint(node.Labels)
	})
	scale(ctx, t, c, dep, 3)
	third := waitRunning(ctx, t, c, 3)
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
	waitFor(ctx, t, "worker2 reports rail 2 down", func() (bool, string) {
		node := &corev1.Node{}
		_ = c.Get(ctx, client.ObjectKey{Name: "worker2"}, node)
		return node.Labels[railnetv1.RailLabel(2)] == railnetv1.RailDown, fmt.Sprint(node.Labels)
	})
	scale(ctx, t, c, dep, 4)
	waitFor(ctx, t, "a FailedScheduling event naming the down rail's resource or NIC", func() (bool, string) {
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

	// Deleting the Deployment releases every address.
	if err := c.Delete(ctx, dep, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "all IPAllocations released", func() (bool, string) {
		var list railnetv1.IPAllocationList
		_ = c.List(ctx, &list)
		var pl corev1.PodList
		_ = c.List(ctx, &pl, client.InNamespace("train"))
		return len(list.Items) == 0 && len(pl.Items) == 0, fmt.Sprintf("%d allocations, %d pods", len(list.Items), len(pl.Items))
	})
}

func trainer(replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": "trainer"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "trainer"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
					"cni.spidernet.io/rdma-resource-inject": "rdma-network",
				}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "rdma-tools", Image: "ghcr.io/spidernet-io/rdma-tools:latest"}}},
			},
		},
	}
}

func scale(ctx context.Context, t *testing.T, c client.Client, dep *appsv1.Deployment, n int32) {
	t.Helper()
	cur := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(dep), cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.Replicas = &n
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
}

func waitRunning(ctx context.Context, t *testing.T, c client.Client, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	waitFor(ctx, t, fmt.Sprintf("%d trainer pods running", n), func() (bool, string) {
		var list corev1.PodList
		if err := c.List(ctx, &list, client.InNamespace("train"), client.MatchingLabels{"app": "trainer"}); err != nil {
			return false, err.Error()
		}
		pods = pods[:0]
		var state []string
		for _, p := range list.Items {
			state = append(state, fmt.Sprintf("%s node=%q phase=%s", p.Name, p.Spec.NodeName, p.Status.Phase))
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				pods = append(pods, p)
			}
		}
		var evs corev1.EventList
		_ = c.List(ctx, &evs, client.InNamespace("train"))
		for _, ev := range evs.Items {
			if ev.Type == corev1.EventTypeWarning {
				state = append(state, ev.Reason+": "+ev.Message)
			}
		}
		return len(pods) == n, strings.Join(state, "; ")
	})
	return pods
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var state string
	for {
		var ok bool
		ok, state = cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; last state: %s", what, state)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
