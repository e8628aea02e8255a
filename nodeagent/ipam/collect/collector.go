package collect

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/metrics"
	"github.com/railnet/railnet/nodeagent/periodic"
)

// Collector releases the node's allocations whose pod is gone: deleted,
// replaced by a pod of the same name (another UID), finished, or moved to
// another node. An allocation younger than Grace is left alone, so an ADD in
// flight (allocation made, pod status not yet written) is never collected.
//
// With Node empty it is the cluster's collector (run by one agent, the
// leader): it looks at every node's allocations and also releases those of
// nodes that no longer exist, which no node's own collector would ever see,
// and those of pods gone from a node whose agent is down.
type Collector struct {
	// Node is the agent's node; empty collects the whole cluster.
	Node     string
	Reader   client.Reader
	Writer   client.Writer
	Grace    time.Duration
	Interval time.Duration
	Now      func() time.Time
	// Metrics counts the released addresses; nil counts nothing.
	Metrics *metrics.IPAM
}

// Run collects every Interval (default a minute) until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	periodic.Every(ctx, c.Interval, "IPAM garbage collection", c.Collect)
	return nil
}

// Collect runs one pass and returns the names of the released allocations.
func (c *Collector) Collect(ctx context.Context) ([]string, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	var list railnetv1.IPAllocationList
	var opts []client.ListOption
	if c.Node != "" {
		opts = append(opts, client.MatchingLabels{railnetv1.LabelNode: c.Node})
	}
	if err := c.Reader.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("list IPAllocations of node %q: %w", c.Node, err)
	}
	nodeGone := map[string]bool{}
	var released []string
	for i := range list.Items {
		a := &list.Items[i]
		if now().Sub(a.CreationTimestamp.Time) < c.Grace {
			continue
		}
		if c.Node == "" {
			gone, seen := nodeGone[a.Spec.Node]
			if !seen {
				err := c.Reader.Get(ctx, client.ObjectKey{Name: a.Spec.Node}, &corev1.Node{})
				if client.IgnoreNotFound(err) != nil {
					return released, fmt.Errorf("read node %s of IPAllocation %s: %w", a.Spec.Node, a.Name, err)
				}
				gone = apierrors.IsNotFound(err)
				nodeGone[a.Spec.Node] = gone
			}
			if gone {
				if ok, err := c.release(ctx, a); err != nil {
					return released, err
				} else if ok {
					released = append(released, a.Name)
				}
				continue
			}
		}
		gone, err := c.podGone(ctx, a)
		if err != nil {
			return released, err
		}
		if !gone {
			continue
		}
		if ok, err := c.release(ctx, a); err != nil {
			return released, err
		} else if ok {
			released = append(released, a.Name)
		}
	}
	return released, nil
}

// release deletes the allocation as it was read (another writer's change
// wins) and reports whether it did.
func (c *Collector) release(ctx context.Context, a *railnetv1.IPAllocation) (bool, error) {
	err := c.Writer.Delete(ctx, a, client.Preconditions{UID: &a.UID, ResourceVersion: &a.ResourceVersion})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return false, fmt.Errorf("release IPAllocation %s: %w", a.Name, err)
	}
	if err == nil {
		c.Metrics.Released(a.Spec.Pool, metrics.ReleasedByGC)
	}
	return err == nil, nil
}

func (c *Collector) podGone(ctx context.Context, a *railnetv1.IPAllocation) (bool, error) {
	pod := &corev1.Pod{}
	err := c.Reader.Get(ctx, client.ObjectKey{Namespace: a.Spec.PodNamespace, Name: a.Spec.PodName}, pod)
	if apierrors.IsNotFound(err) {
		return gone(a, nil), nil
	}
	if err != nil {
		return false, fmt.Errorf("read pod %s/%s of IPAllocation %s: %w", a.Spec.PodNamespace, a.Spec.PodName, a.Name, err)
	}
	return gone(a, pod), nil
}

// gone reports whether the pod of allocation a is gone, given the pod of
// its namespace and name (nil when there is none): deleted, replaced by a
// pod of the same name (another UID), finished, or bound to another node.
func gone(a *railnetv1.IPAllocation, pod *corev1.Pod) bool {
	return pod == nil || string(pod.UID) != a.Spec.PodUID ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed ||
		(pod.Spec.NodeName != "" && pod.Spec.NodeName != a.Spec.Node)
}
