package chart_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// nodeClaim is the extra the API server reads from a pod-bound service
// account token's node claim.
const nodeClaim = "authentication.kubernetes.io/node-name"

// agentAs is a client acting as the chart's node agent ServiceAccount with
// node's claim ("" = a credential without one), as the agent's projected
// token makes it.
func agentAs(t *testing.T, node string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: fmt.Sprintf("system:serviceaccount:%s:%s-node-agent", namespace, release),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
	if node != "" {
		cfg.Impersonate.Extra = map[string][]string{nodeClaim: {node}}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The chart's ValidatingAdmissionPolicy lets an agent change its own node's
// Node, RDMANode and IPAllocations and refuses another node's, naming both
// nodes; IPAllocation deletes stay open for the cluster collector.
func checkAgentScope(ctx context.Context, t *testing.T) {
	const own, other = "scope-a", "scope-b"
	for _, n := range []string{own, other} {
		cluster.CreateNode(t, ground.NodeSpec{Name: n})
	}
	agent, noClaim := agentAs(t, own), agentAs(t, "")
	rdmaNode := func(name string) *railnetv1.RDMANode {
		return &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	refused := func(what string, err error, want string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: allowed, want refused with %q", what, want)
		} else if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v\nwant it to say %q", what, err, want)
		}
	}

	// The policy takes a moment to reach the API server's admission.
	var createErr error
	poll.Until(t, 30*time.Second, "the policy refusing another node's RDMANode", func() error {
		if createErr = agent.Create(ctx, rdmaNode(other)); createErr == nil {
			_ = cluster.Client.Delete(ctx, rdmaNode(other))
			return errors.New("the agent created another node's RDMANode")
		}
		return nil
	})
	refused("create another node's RDMANode", createErr, fmt.Sprintf(
		"railnet node agent of node %s may not create RDMANode %s, which belongs to node %s: an agent changes only its own node's objects", own, other, other))

	// Its own node: create, status, labels.
	mine := rdmaNode(own)
	if err := agent.Create(ctx, mine); err != nil {
		t.Fatalf("create its own RDMANode: %v", err)
	}
	mine.Status.RailsTotal = 8
	if err := agent.Status().Update(ctx, mine); err != nil {
		t.Errorf("update its own RDMANode status: %v", err)
	}
	label := func(name string) error {
		patch := []byte(`{"metadata":{"labels":{"railnet.io/rails-ready":"8"}}}`)
		return agent.Patch(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, client.RawPatch(types.MergePatchType, patch))
	}
	if err := label(own); err != nil {
		t.Errorf("label its own Node: %v", err)
	}

	// Another node's.
	theirs := rdmaNode(other)
	if err := cluster.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	theirs.Status.RailsTotal = 8
	refused("update another node's RDMANode status", agent.Status().Update(ctx, theirs),
		fmt.Sprintf("railnet node agent of node %s may not update RDMANode/status %s, which belongs to node %s", own, other, other))
	refused("label another node's Node", label(other),
		fmt.Sprintf("railnet node agent of node %s may not update Node %s, which belongs to node %s", own, other, other))

	alloc := func(ip, node, labelNode string) *railnetv1.IPAllocation {
		a := netip.MustParseAddr(ip)
		return &railnetv1.IPAllocation{
			ObjectMeta: metav1.ObjectMeta{Name: railnetv1.AllocationName(a), Labels: map[string]string{railnetv1.LabelNode: labelNode}},
			Spec: railnetv1.IPAllocationSpec{Pool: "pool", IP: ip, PodNamespace: "default", PodName: "p", PodUID: "uid",
				Interface: "net1", Node: node},
		}
	}
	refused("allocate for another node", agent.Create(ctx, alloc("10.9.0.1", other, other)),
		fmt.Sprintf("railnet node agent of node %s may not create IPAllocation %s, which belongs to node %s", own, railnetv1.AllocationName(netip.MustParseAddr("10.9.0.1")), other))
	refused("allocate for itself under another node's label", agent.Create(ctx, alloc("10.9.0.2", own, other)),
		fmt.Sprintf("labelled railnet.io/node=%s: an agent changes only its own node's objects", other))
	if err := agent.Create(ctx, alloc("10.9.0.3", own, own)); err != nil {
		t.Errorf("allocate for its own node: %v", err)
	}
	// The cluster collector (the leading agent) frees another node's address.
	gone := alloc("10.9.0.4", other, other)
	if err := cluster.Client.Create(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := agent.Delete(ctx, gone); err != nil {
		t.Errorf("the cluster collector's delete of another node's IPAllocation: %v", err)
	}

	// Pods: the NCCL warning annotation only on its own node's pods (the same
	// merge patch, naming the pod's UID, as the agent's).
	// The cluster may not have made the namespace's default ServiceAccount
	// yet (its controller runs asynchronously); pods need it.
	if err := cluster.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "default"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	pod := func(name, node string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if node == "" { // kept unbound: no node matches
			p.Spec.NodeSelector = map[string]string{"railnet.io/no-such-node": "true"}
		}
		if err := cluster.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	warn := func(p *corev1.Pod) error {
		patch := []byte(fmt.Sprintf(`{"metadata":{"uid":%q,"annotations":{"railnet.io/nccl-warning":"net1: GID index 3; net2: GID index 5"}}}`, p.UID))
		return agent.Patch(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name}}, client.RawPatch(types.MergePatchType, patch))
	}
	ownPod, otherPod, pending := pod("scope-own", own), pod("scope-other", other), pod("scope-pending", "")
	if err := warn(ownPod); err != nil {
		t.Errorf("annotate a pod of its own node: %v", err)
	}
	refused("annotate another node's pod", warn(otherPod),
		fmt.Sprintf("railnet node agent of node %s may not update Pod scope-other, which belongs to node %s", own, other))
	refused("annotate a pod bound to no node", warn(pending),
		fmt.Sprintf("railnet node agent of node %s may not update Pod scope-pending, which belongs to node :", own))
	for _, p := range []*corev1.Pod{ownPod, otherPod, pending} {
		_ = cluster.Client.Delete(ctx, p, client.GracePeriodSeconds(0))
	}

	refused("a credential without a node claim", noClaim.Status().Update(ctx, mine),
		"railnet node agent may not update RDMANode/status scope-a: its credential carries no node claim (authentication.kubernetes.io/node-name)")

	for _, o := range []client.Object{rdmaNode(own), rdmaNode(other), alloc("10.9.0.3", own, own)} {
		_ = cluster.Client.Delete(ctx, o)
	}
}
