package collect

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

func TestGone(t *testing.T) {
	a := &railnetv1.IPAllocation{Spec: railnetv1.IPAllocationSpec{PodNamespace: "train", PodName: "worker-0", PodUID: "uid-1", Node: "node-a"}}
	pod := func(uid, node string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "worker-0", UID: types.UID(uid)},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	}
	for _, tt := range []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{name: "running on its node", pod: pod("uid-1", "node-a", corev1.PodRunning)},
		{name: "pending, not bound yet", pod: pod("uid-1", "", corev1.PodPending)},
		{name: "deleted", want: true},
		{name: "replaced by a pod of the same name", pod: pod("uid-2", "node-a", corev1.PodRunning), want: true},
		{name: "succeeded", pod: pod("uid-1", "node-a", corev1.PodSucceeded), want: true},
		{name: "failed", pod: pod("uid-1", "node-a", corev1.PodFailed), want: true},
		{name: "bound to another node", pod: pod("uid-1", "node-b", corev1.PodRunning), want: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := gone(a, tt.pod); got != tt.want {
				t.Fatalf("gone = %v, want %v", got, tt.want)
			}
		})
	}
}
