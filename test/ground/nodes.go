package ground

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// NodeSpec describes a hand-made Node: there is no kubelet on the test
// ground, so the helper writes what a kubelet would report.
type NodeSpec struct {
	Name string
	// Allocatable is added to (and overrides) a default of 64 CPUs, 512Gi of
	// memory and 110 pods; capacity equals allocatable.
	Allocatable corev1.ResourceList
	// Labels are added to the usual kubernetes.io/hostname, os and arch.
	Labels map[string]string
	// NotReady leaves the Ready condition False and the not-ready taint on.
	NotReady bool
}

// CreateNode creates the Node, reports its status and, when Ready, removes the
// not-ready taint that the TaintNodesByCondition admission plugin adds to
// every new Node. It deletes the Node when the test ends.
func (c *Cluster) CreateNode(tb TB, spec NodeSpec) *corev1.Node {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := c.AddNode(ctx, spec)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Client.Delete(ctx, n); err != nil && !apierrors.IsNotFound(err) {
			tb.Errorf("delete node %s: %v", n.Name, err)
		}
	})
	return n
}

// AddNode is CreateNode without a test: for TestMain and the CLI.
func (c *Cluster) AddNode(ctx context.Context, spec NodeSpec) (*corev1.Node, error) {
	labels := map[string]string{
		corev1.LabelHostname:   spec.Name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: "amd64",
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Labels: labels}}
	if err := c.Client.Create(ctx, node); err != nil {
		return nil, fmt.Errorf("create node %s: %w", spec.Name, err)
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("512Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	for k, v := range spec.Allocatable {
		alloc[k] = v
	}
	ready := corev1.ConditionTrue
	if spec.NotReady {
		ready = corev1.ConditionFalse
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
			return err
		}
		now := metav1.Now()
		node.Status.Capacity = alloc.DeepCopy()
		node.Status.Allocatable = alloc.DeepCopy()
		node.Status.Conditions = []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: ready, Reason: "RailnetTestGround",
			Message: "hand-made node of the railnet test ground", LastHeartbeatTime: now, LastTransitionTime: now,
		}}
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: spec.Name}}
		return c.Client.Status().Update(ctx, node)
	})
	if err != nil {
		return nil, fmt.Errorf("report status of node %s: %w", spec.Name, err)
	}
	if spec.NotReady {
		return node, nil
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
			return err
		}
		kept := node.Spec.Taints[:0]
		for _, t := range node.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady {
				kept = append(kept, t)
			}
		}
		node.Spec.Taints = kept
		return c.Client.Update(ctx, node)
	})
	if err != nil {
		return nil, fmt.Errorf("untaint node %s: %w", spec.Name, err)
	}
	return node, nil
}

// EnsureNamespace creates the namespace and its default ServiceAccount (pods
// are refused until it exists; kube-controller-manager would make it too,
// a moment later).
func (c *Cluster) EnsureNamespace(tb TB, name string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.AddNamespace(ctx, name); err != nil {
		tb.Fatal(err)
	}
}

// AddNamespace is EnsureNamespace without a test.
func (c *Cluster) AddNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if err := c.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create default service account in %s: %w", name, err)
	}
	return nil
}
