package state

import (
	"net/netip"
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/placement"
)

// The extender caches every Node, Pod and IPAllocation of the cluster; it
// keeps only what it reads of them. A Node's image list and conditions, a
// pod's volumes, environment, probes, container statuses and annotations
// (the CNI's network status among them), an allocation's labels and
// container ID would otherwise make up most of its memory. What reads
// them: a Node's labels and allocatable resources make its facts
// (placement.NewNodeFacts); a pod's node, phase, deletion, job labels and
// extended-resource requests make the slots, the jobs' nodes and the
// in-flight book's standing (Slots, Jobs, InFlight). The pod a request
// asks about comes whole in the request, never from the cache.

// slimMeta keeps identity and labels.
func slimMeta(m *metav1.ObjectMeta, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, Labels: labels, DeletionTimestamp: m.DeletionTimestamp}
}

// slimNode keeps a Node's identity, labels and allocatable resources.
func slimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{TypeMeta: n.TypeMeta, ObjectMeta: slimMeta(&n.ObjectMeta, n.Labels),
		Status: corev1.NodeStatus{Allocatable: n.Status.Allocatable}}, nil
}

// slimPod keeps a pod's identity, job labels (placement.JobLabels), node,
// phase and containers' resources. (Keeping only the extended-resource
// requests, as one container's, would allocate new maps while the
// decoded ones die around them: in the benchmark the heap then held 90 MiB
// of holes more than it saved.)
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
	return &corev1.Pod{TypeMeta: p.TypeMeta, ObjectMeta: slimMeta(&p.ObjectMeta, jobLabels(p.Labels)),
		Spec: corev1.PodSpec{NodeName: p.Spec.NodeName, SchedulerName: p.Spec.SchedulerName,
			Containers: containers(p.Spec.Containers), InitContainers: containers(p.Spec.InitContainers)},
		Status: corev1.PodStatus{Phase: p.Status.Phase}}, nil
}

// jobLabels are the labels of placement.JobLabels among labels: labels
// itself when it has no other, nil when none.
func jobLabels(labels map[string]string) map[string]string {
	n := 0
	for _, l := range placement.JobLabels {
		if _, ok := labels[l]; ok {
			n++
		}
	}
	switch {
	case n == len(labels):
		return labels
	case n == 0:
		return nil
	}
	out := make(map[string]string, n)
	for _, l := range placement.JobLabels {
		if v, ok := labels[l]; ok {
			out[l] = v
		}
	}
	return out
}

// allocation is what the cache keeps of an IPAllocation (compactAllocation
// makes one of each): its name and resource version, which the informer
// keys and compares it by, its pool, address (parsed too, for allocBook)
// and pod. The three strings
// share one fresh copy (a decoded object's strings would keep the memory
// around them, the rest of the object, from being reused), and the pool
// and the pod's UID are interned (a pod's rails share one copy): at one
// allocation per pod and rail, it is a tenth of the IPAllocation it
// replaces and a third of the objects the collector visits.
type allocation struct {
	// fields is name, resource version and address, in turn.
	fields       string
	nameN, rvN   uint32
	pool, podUID unique.Handle[string]
	// addr is the address parsed (the zero Addr when it does not parse).
	addr netip.Addr
}

func (a *allocation) name() string            { return a.fields[:a.nameN] }
func (a *allocation) resourceVersion() string { return a.fields[a.nameN : a.nameN+a.rvN] }
func (a *allocation) ip() string              { return a.fields[a.nameN+a.rvN:] }

// GetObjectMeta gives the informer the allocation's name and resource
// version (meta.Accessor).
func (a *allocation) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Name: a.name(), ResourceVersion: a.resourceVersion()}
}

// compactAllocation is the cache's transform of IPAllocations: an
// allocation in place of each. An allocation is left as it is (a
// transform may see what it made).
func compactAllocation(obj any) (any, error) {
	a, ok := obj.(*railnetv1.IPAllocation)
	if !ok {
		return obj, nil
	}
	addr, _ := netip.ParseAddr(a.Spec.IP)
	return &allocation{fields: a.Name + a.ResourceVersion + a.Spec.IP, nameN: uint32(len(a.Name)), rvN: uint32(len(a.ResourceVersion)),
		pool: unique.Make(a.Spec.Pool), podUID: unique.Make(a.Spec.PodUID), addr: addr}, nil
}
