package foundation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

const gpu1 corev1.ResourceName = "spidernet.io/shared_cx5_gpu1"

// A Deployment's pod asking for one RDMA share is bound by the real
// kube-scheduler to the node that advertises 100 shares; a pod asking for
// more than the node has stays Pending with the scheduler's reason.
func TestSchedulerBindsRDMAPodsFromDeployment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "sched"
	cluster.EnsureNamespace(t, ns)
	node := cluster.CreateNode(t, ground.NodeSpec{
		Name:        "ai-10-1-16-1",
		Allocatable: corev1.ResourceList{gpu1: resource.MustParse("100")},
	})

	dep := deployment(ns, "rdma-tools", "1")
	if err := cluster.Client.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	bound := waitPod(ctx, t, ns, "app=rdma-tools", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	if bound.Spec.NodeName != node.Name {
		t.Fatalf("pod %s bound to %q, want %q", bound.Name, bound.Spec.NodeName, node.Name)
	}
	if len(bound.OwnerReferences) == 0 || bound.OwnerReferences[0].Kind != "ReplicaSet" {
		t.Fatalf("pod %s was not made by the controller-manager's ReplicaSet controller: owners %v", bound.Name, bound.OwnerReferences)
	}

	greedy := deployment(ns, "greedy", "101")
	if err := cluster.Client.Create(ctx, greedy); err != nil {
		t.Fatal(err)
	}
	pending := waitPod(ctx, t, ns, "app=greedy", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return true
			}
		}
		return false
	})
	if pending.Spec.NodeName != "" {
		t.Fatalf("pod %s asking 101 of 100 shares was bound to %s", pending.Name, pending.Spec.NodeName)
	}
	msg := scheduledCondition(pending).Message
	if want := "Insufficient " + string(gpu1); !strings.Contains(msg, want) {
		t.Fatalf("pod %s unschedulable with message %q, want it to contain %q", pending.Name, msg, want)
	}
}

func deployment(ns, name, shares string) *appsv1.Deployment {
	one := int32(1)
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "rdma-tools",
					Image: "ghcr.io/spidernet-io/rdma-tools:latest",
					Resources: corev1.ResourceRequirements{
						Limits: corev1.ResourceList{gpu1: resource.MustParse(shares)},
					},
				}}},
			},
		},
	}
}

func scheduledCondition(p *corev1.Pod) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c
		}
	}
	return corev1.PodCondition{}
}

// waitPod polls until a pod matching selector satisfies ok.
func waitPod(ctx context.Context, t *testing.T, ns, selector string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	sel, err := labels.Parse(selector)
	if err != nil {
		t.Fatal(err)
	}
	var found *corev1.Pod
	err = poll.Wait(ctx, 2*time.Minute, fmt.Sprintf("a pod %q in %s in the wanted state", selector, ns), func() error {
		var pods corev1.PodList
		if err := cluster.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return poll.Final(err)
		}
		for i := range pods.Items {
			if ok(&pods.Items[i]) {
				found = &pods.Items[i]
				return nil
			}
		}
		last := fmt.Sprintf("%d pods", len(pods.Items))
		for _, p := range pods.Items {
			last += fmt.Sprintf("; %s node=%q conditions=%v", p.Name, p.Spec.NodeName, p.Status.Conditions)
		}
		return errors.New(last)
	})
	if err != nil {
		t.Fatalf("%v\nscheduler log:\n%s\ncontroller-manager log:\n%s", err, cluster.Logs("kube-scheduler", 20), cluster.Logs("kube-controller-manager", 20))
	}
	return found
}
