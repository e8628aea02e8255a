package story

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// WaitFor polls cond (with package poll) until it holds; when ctx ends, or
// after 10 minutes at the most (a hang guard), it fails tb with what and
// cond's last description of the state.
func WaitFor(ctx context.Context, tb ground.TB, what string, cond func() (bool, string)) {
	tb.Helper()
	err := poll.Wait(ctx, 10*time.Minute, what, func() error {
		if ok, state := cond(); !ok {
			return errors.New("last state: " + state)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("%v", err)
	}
}

// WaitNodesReady waits until every node advertises the 8 RDMA resources
// with 100 shares each and reports 8 rails ready.
func (e *Env) WaitNodesReady(ctx context.Context, tb ground.TB) {
	tb.Helper()
	c := e.Cluster.Client
	for _, n := range e.Nodes {
		WaitFor(ctx, tb, n.Name+" advertises 8 RDMA resources × 100 and 8 rails up", func() (bool, string) {
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
}

// WaitRunning waits until n trainer pods run and returns them.
func (e *Env) WaitRunning(ctx context.Context, tb ground.TB, n int) []corev1.Pod {
	tb.Helper()
	c := e.Cluster.Client
	var pods []corev1.Pod
	WaitFor(ctx, tb, fmt.Sprintf("%d trainer pods running", n), func() (bool, string) {
		var list corev1.PodList
		if err := c.List(ctx, &list, client.InNamespace(TrainNamespace), client.MatchingLabels{"app": "trainer"}); err != nil {
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
		_ = c.List(ctx, &evs, client.InNamespace(TrainNamespace))
		for _, ev := range evs.Items {
			if ev.Type == corev1.EventTypeWarning {
				state = append(state, ev.Reason+": "+ev.Message)
			}
		}
		return len(pods) == n, strings.Join(state, "; ")
	})
	return pods
}

// Scale sets the trainer's replicas.
func (e *Env) Scale(ctx context.Context, tb ground.TB, dep *appsv1.Deployment, n int32) {
	tb.Helper()
	cur := &appsv1.Deployment{}
	if err := e.Cluster.Client.Get(ctx, client.ObjectKeyFromObject(dep), cur); err != nil {
		tb.Fatal(err)
	}
	cur.Spec.Replicas = &n
	if err := e.Cluster.Client.Update(ctx, cur); err != nil {
		tb.Fatal(err)
	}
}

// WaitRailDown waits until the node's label shows rail i down.
func (e *Env) WaitRailDown(ctx context.Context, tb ground.TB, node string, rail int32) {
	tb.Helper()
	WaitFor(ctx, tb, fmt.Sprintf("%s reports rail %d down", node, rail), func() (bool, string) {
		n := &corev1.Node{}
		_ = e.Cluster.Client.Get(ctx, client.ObjectKey{Name: node}, n)
		return n.Labels[railnetv1.RailLabel(rail)] == railnetv1.RailDown, fmt.Sprint(n.Labels)
	})
}
