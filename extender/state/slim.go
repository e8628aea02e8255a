package state

import (
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// The extender caches every Node, Pod and IPAllocation of the cluster; it
// keeps only what it reads of them. A Node's image list and conditions, a
// pod's volumes, environment, probes and container statuses, an
// allocation's labels and container ID would otherwise make up most of its
// memory.

// slimMeta keeps identity, labels and annotations (without the copy of the
// whole object kubectl apply leaves).
func slimMeta(m *metav1.ObjectMeta) metav1.ObjectMeta {
	out := metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, Labels: m.Labels, Annotations: m.Annotations, DeletionTimestamp: m.DeletionTimestamp}
	if _, ok := m.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		out.Annotations = make(map[string]string, len(m.Annotations)-1)
		for k, v := range m.Annotations {
			if k != corev1.LastAppliedConfigAnnotation {
				out.Annotations[k] = v
			}
		}
	}
	return out
}

// slimNode keeps a Node's metadata and allocatable resources.
func slimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{TypeMeta: n.TypeMeta, ObjectMeta: slimMeta(&n.ObjectMeta),
		Status: corev1.NodeStatus{Allocatable: n.Status.Allocatable}}, nil
}

// slimPod keeps a pod's metadata, node, containers' resources and phase.
func slimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	containers := func(cs []corev1.Container) []corev1.Container {
		if cs == nil {
			return nil
		}
		out := make([]corev1.Container, len(cs))
		for i := range cs {
			out[i] = corev1.Container{Name: cs[i].Name, Resources: cs[i].Resources, RestartPolicy: cs[i].RestartPolicy}
		}
		return out
	}
	return &corev1.Pod{TypeMeta: p.TypeMeta, ObjectMeta: slimMeta(&p.ObjectMeta),
		Spec: corev1.PodSpec{NodeName: p.Spec.NodeName, SchedulerName: p.Spec.SchedulerName,
			Containers: containers(p.Spec.Containers), InitContainers: containers(p.Spec.InitContainers)},
		Status: corev1.PodStatus{Phase: p.Status.Phase}}, nil
}

// allocation is what the cache keeps of an IPAllocation (compactAllocation
// makes one of each): its name and resource version, which the informer
// keys and compares it by, its pool, address and pod. It is about a
// sixth of the IPAllocation it replaces, which matters at one per pod
// and rail. The pod's UID is interned: a pod's rails share one copy.
type allocation struct {
	name, resourceVersion string
	pool                  unique.Handle[string]
	ip                    string
	podUID                unique.Handle[string]
}

// GetObjectMeta gives the informer the allocation's name and resource
// version (meta.Accessor).
func (a *allocation) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Name: a.name, ResourceVersion: a.resourceVersion}
}

// compactAllocation is the cache's transform of IPAllocations: an
// allocation in place of each. An allocation is left as it is (a
// transform may see what it made).
func compactAllocation(obj any) (any, error) {
	a, ok := obj.(*railnetv1.IPAllocation)
	if !ok {
		return obj, nil
	}
	return &allocation{name: a.Name, resourceVersion: a.ResourceVersion, pool: unique.Make(a.Spec.Pool), ip: a.Spec.IP,
		podUID: unique.Make(a.Spec.PodUID)}, nil
}

// allocationPool indexes allocations by pool.
func allocationPool(obj any) ([]string, error) {
	if a, ok := obj.(*allocation); ok {
		return []string{a.pool.Value()}, nil
	}
	return nil, nil
}
