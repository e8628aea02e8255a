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
	"github.com/railnet/railnet/extender/rails"
)

// What the extender reads of a Node or Pod survives the slimming; the bulk
// does not.
func TestSlimKeepsWhatTheExtenderReads(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	now := metav1.Now()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "w0", UID: "u1", ResourceVersion: "7", DeletionTimestamp: &now,
			Labels: map[string]string{"railnet.io/job": "j"},
			Annotations: map[string]string{"k8s.v1.cni.cncf.io/networks": "spiderpool/gpu1-macvlan",
				corev1.LastAppliedConfigAnnotation: "{...}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: corev1.PodSpec{NodeName: "n1",
			Containers: []corev1.Container{{Name: "c", Image: "img", Env: []corev1.EnvVar{{Name: "A", Value: "b"}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{gpu1: resource.MustParse("2")}}}},
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
	if _, err := rails.ForPod(slim, world(1, "172.16.11.1")); err != nil {
		t.Fatal(err)
	}
	if slim.Annotations["k8s.v1.cni.cncf.io/networks"] == "" || slim.Annotations[corev1.LastAppliedConfigAnnotation] != "" ||
		slim.ManagedFields != nil || slim.Spec.Volumes != nil || slim.Spec.Containers[0].Env != nil || slim.Status.ContainerStatuses != nil {
		t.Fatalf("slim pod kept bulk: %+v", slim)
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
	want := &allocation{name: "a", resourceVersion: "9", pool: unique.Make("p"), ip: "10.0.0.1", podUID: unique.Make("u1")}
	if ca := obj.(*allocation); *ca != *want {
		t.Fatalf("compact allocation %+v, want %+v", ca, want)
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
