package state

import (
	"reflect"
	"testing"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/placement"
)

// What the extender reads of a Node or Pod survives the slimming; the bulk
// does not.
func TestSlimKeepsWhatTheExtenderReads(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	now := metav1.Now()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "w0", UID: "u1", ResourceVersion: "7", DeletionTimestamp: &now,
			Labels: map[string]string{"railnet.io/job": "j", "app": "trainer"},
			Annotations: map[string]string{"k8s.v1.cni.cncf.io/networks": "spiderpool/gpu1-macvlan",
				corev1.LastAppliedConfigAnnotation: "{...}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: corev1.PodSpec{NodeName: "n1",
			Containers: []corev1.Container{{Name: "c", Image: "img", Env: []corev1.EnvVar{{Name: "A", Value: "b"}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{gpu1: resource.MustParse("2"), corev1.ResourceCPU: resource.MustParse("4")}}}},
			InitContainers: []corev1.Container{{Name: "s", RestartPolicy: &always,
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{gpu1: resource.MustParse("1")}}}},
			Volumes: []corev1.Volume{{Name: "v"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "c"}}},
	}
	obj, err := slimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	slim := obj.(*corev1.Pod)
	if placement.Request(slim, gpu1) != 3 || placement.JobKey(slim) != placement.JobKey(pod) ||
		slim.Spec.NodeName != "n1" || slim.UID != "u1" || slim.DeletionTimestamp == nil || placement.Terminated(slim) ||
		!reflect.DeepEqual(extendedRequests(slim), extendedRequests(pod)) {
		t.Fatalf("slim pod lost what the extender reads: %+v", slim)
	}
	if slim.Annotations != nil || !reflect.DeepEqual(slim.Labels, map[string]string{"railnet.io/job": "j"}) ||
		slim.ManagedFields != nil || slim.Spec.Volumes != nil || slim.Spec.Containers[0].Env != nil || slim.Status.ContainerStatuses != nil {
		t.Fatalf("slim pod kept bulk: %+v", slim)
	}
	if again, _ := slimPod(slim); !reflect.DeepEqual(again, slim) {
		t.Fatalf("slimming a slim pod changed it: %+v", again)
	}
	if pod.Annotations[corev1.LastAppliedConfigAnnotation] == "" {
		t.Fatal("slimming changed the original")
	}

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"rack": "r7"}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{gpu1: resource.MustParse("10")},
			Images: []corev1.ContainerImage{{Names: []string{"img"}}}, Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady}}}}
	obj, err = slimNode(node)
	if err != nil {
		t.Fatal(err)
	}
	sn := obj.(*corev1.Node)
	if !reflect.DeepEqual(placement.NewNodeFacts(sn, nil).Allocatable, placement.NewNodeFacts(node, nil).Allocatable) ||
		sn.Labels["rack"] != "r7" || sn.Name != "n1" || sn.Status.Images != nil || sn.Status.Conditions != nil {
		t.Fatalf("slim node %+v", sn)
	}
	alloc := &railnetv1.IPAllocation{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "x", ResourceVersion: "9", Labels: map[string]string{"k": "v"}},
		Spec: railnetv1.IPAllocationSpec{Pool: "p", IP: "10.0.0.1", PodUID: "u1", PodName: "w0", ContainerID: "c", Node: "n1"}}
	obj, _ = compactAllocation(alloc)
	if ca := obj.(*allocation); ca.name() != "a" || ca.resourceVersion() != "9" || ca.ip() != "10.0.0.1" ||
		ca.pool != unique.Make("p") || ca.podUID != unique.Make("u1") {
		t.Fatalf("compact allocation %+v", ca)
	}
	if again, _ := compactAllocation(obj); again != obj {
		t.Fatalf("compactAllocation changed an allocation: %+v", again)
	}
	// The informer keys and compares allocations by name and resource
	// version, as it would the IPAllocations.
	if key, err := toolscache.MetaNamespaceKeyFunc(obj); err != nil || key != "a" {
		t.Fatalf("key %q, %v", key, err)
	}
	if m, err := meta.Accessor(obj); err != nil || m.GetResourceVersion() != "9" {
		t.Fatalf("accessor %v, %v", m, err)
	}
	if obj, _ := slimPod("not a pod"); obj != "not a pod" {
		t.Fatalf("slimPod changed a foreign object: %v", obj)
	}
}

// A slim pod keeps the labels JobKey reads and no other.
func TestSlimPodJobLabels(t *testing.T) {
	for _, c := range []struct {
		labels, want map[string]string
	}{
		{nil, nil},
		{map[string]string{"app": "x"}, nil},
		{map[string]string{"batch.kubernetes.io/job-name": "j"}, map[string]string{"batch.kubernetes.io/job-name": "j"}},
		{map[string]string{"app": "x", "volcano.sh/job-name": "v", "railnet.io/job": "r"}, map[string]string{"volcano.sh/job-name": "v", "railnet.io/job": "r"}},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: c.labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}}
		obj, _ := slimPod(pod)
		slim := obj.(*corev1.Pod)
		if !reflect.DeepEqual(slim.Labels, c.want) || placement.JobKey(slim) != placement.JobKey(pod) {
			t.Errorf("labels %v: slim labels %v, job %q (want %q)", c.labels, slim.Labels, placement.JobKey(slim), placement.JobKey(pod))
		}
	}
}
