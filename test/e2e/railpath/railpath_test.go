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
	checkPolicyRouting(t, e, pods[0])

	var allocs railnetv1.IPAllocationList
	if err := c.List(ctx, &allocs); err != nil || len(allocs.Items) != 16 {
		t.Fatalf("%d IPAllocations (%v), want 16", len(allocs.Items), err)
	}

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

	// Deleting the Deployment releases every address.
	if err := c.Delete(ctx, dep, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
		t.Fatal(err)
	}
	story.WaitFor(ctx, t, "all IPAllocations released", func() (bool, string) {
		var list railnetv1.IPAllocationList
		_ = c.List(ctx, &list)
		var pl corev1.PodList
		_ = c.List(ctx, &pl, client.InNamespace("train"))
		return len(list.Items) == 0 && len(pl.Items) == 0, fmt.Sprintf("%d allocations, %d pods", len(list.Items), len(pl.Items))
	})
}
