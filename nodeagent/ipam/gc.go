package ipam

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// Collector releases the node's allocations whose pod is gone: deleted,
// replaced by a pod of the same name (another UID), finished, or moved to
// another node. An allocation younger than Grace is left alone, so an ADD in
// flight (allocation made, pod status not yet written) is never collected.
type Collector struct {
	Node     string
	Reader   client.Reader
	Writer   client.Writer
	Grace    time.Duration
	Interval time.Duration
	Now      func() time.Time
}

// Run collects every Interval until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	interval := c.Interval
	if interval == 0 {
		interval = time.Minute
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if released, err := c.Collect(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "IPAM garbage collection")
		} else if len(released) > 0 {
			klog.FromContext(ctx).Info("released addresses of gone pods", "allocations", released)
		}
	}, interval)
	return nil
}

// Collect runs one pass and returns the names of the released allocations.
func (c *Collector) Collect(ctx context.Context) ([]string, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	var list railnetv1.IPAllocationList
	if err := c.Reader.List(ctx, &list, client.MatchingLabels{railnetv1.LabelNode: c.Node}); err != nil {
		return nil, fmt.Errorf("list IPAllocations of node %s: %w", c.Node, err)
	}
	var released []string
	for i := range list.Items {
		a := &list.Items[i]
		if now().Sub(a.CreationTimestamp.Time) < c.Grace {
			continue
		}
		gone, err := c.podGone(ctx, a)
		if err != nil {
			return released, err
		}
		if !gone {
			continue
		}
		err = c.Writer.Delete(ctx, a, client.Preconditions{UID: &a.UID, ResourceVersion: &a.ResourceVersion})
		if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
			return released, fmt.Errorf("release IPAllocation %s: %w", a.Name, err)
		}
		if err == nil {
			released = append(released, a.Name)
		}
	}
	return released, nil
}

func (c *Collector) podGone(ctx context.Context, a *railnetv1.IPAllocation) (bool, error) {
	pod := &corev1.Pod{}
	err := c.Reader.Get(ctx, client.ObjectKey{Namespace: a.Spec.PodNamespace, Name: a.Spec.PodName}, pod)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read pod %s/%s of IPAllocation %s: %w", a.Spec.PodNamespace, a.Spec.PodName, a.Name, err)
	}
	return string(pod.UID) != a.Spec.PodUID ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed ||
		(pod.Spec.NodeName != "" && pod.Spec.NodeName != a.Spec.Node), nil
}
