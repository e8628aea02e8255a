package state

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// A job's nodes are those of its bound, running pods, each node once, as
// pods are bound, finish, go, or are recorded again unchanged; the pod
// asking is left out, but not its node when another pod of the job runs
// there.
func TestJobsNodes(t *testing.T) {
	const job = "train/railnet.io/job=llama"
	pod := func(uid, node string, phase corev1.PodPhase, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: uid, UID: types.UID(uid), Labels: labels},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	}
	llama := map[string]string{"railnet.io/job": "llama"}
	j := NewJobs()
	nodes := func(except types.UID) []string {
		out := j.Nodes(job, except, nil)
		slices.Sort(out)
		return out
	}
	for _, step := range []struct {
		what   string
		change func()
		except types.UID
		want   []string
	}{
		{"a pending pod", func() { j.Set(pod("a", "", "", llama)) }, "", nil},
		{"a bound", func() { j.Set(pod("a", "n1", corev1.PodRunning, llama)) }, "", []string{"n1"}},
		{"a recorded again", func() { j.Set(pod("a", "n1", corev1.PodRunning, llama)) }, "", []string{"n1"}},
		{"b on the same node", func() { j.Set(pod("b", "n1", "", llama)) }, "", []string{"n1"}},
		{"c elsewhere", func() { j.Set(pod("c", "n2", "", llama)) }, "", []string{"n1", "n2"}},
		{"asked by c", func() {}, "c", []string{"n1"}},
		{"asked by a: b is on n1 too", func() {}, "a", []string{"n1", "n2"}},
		{"another job's pod", func() { j.Set(pod("x", "n3", "", map[string]string{"railnet.io/job": "other"})) }, "", []string{"n1", "n2"}},
		{"a pod of no job", func() { j.Set(pod("y", "n4", "", nil)) }, "", []string{"n1", "n2"}},
		{"a finished", func() { j.Set(pod("a", "n1", corev1.PodSucceeded, llama)) }, "", []string{"n1", "n2"}},
		{"asked by b, alone on n1 now", func() {}, "b", []string{"n2"}},
		{"b deleted", func() { j.Delete("b") }, "", []string{"n2"}},
		{"c deleted twice", func() { j.Delete("c"); j.Delete("c") }, "", nil},
	} {
		step.change()
		if got := nodes(step.except); !slices.Equal(got, step.want) {
			t.Fatalf("%s: nodes %v, want %v", step.what, got, step.want)
		}
	}
	if len(j.byJob) != 1 || len(j.byPod) != 1 { // only x, of job other
		t.Fatalf("books keep %d jobs, %d pods after the job's pods went, want 1, 1", len(j.byJob), len(j.byPod))
	}
}
