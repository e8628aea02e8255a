package placement

import (
	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/railnet/railnet/extender/rails"
)

// JobLabels identify a pod's job, in the order they are consulted: railnet's
// own label, then the labels of the usual batch controllers.
var JobLabels = []string{
	"railnet.io/job",
	"batch.kubernetes.io/job-name",
	"training.kubeflow.org/job-name",
	"volcano.sh/job-name",
	"leaderworkerset.sigs.k8s.io/name",
}

// JobKey returns "namespace/label=value" for the first job label the pod
// carries, or "" when it belongs to no job.
func JobKey(pod *corev1.Pod) string {
	for _, l := range JobLabels {
		if v := pod.Labels[l]; v != "" {
			return pod.Namespace + "/" + l + "=" + v
		}
	}
	return ""
}

// NewPod gathers what placement needs from a pod and its rails.
func NewPod(pod *corev1.Pod, rs []rails.Rail) Pod {
	p := Pod{Ref: pod.Namespace + "/" + pod.Name, Rails: rs}
	var reqs corev1.ResourceList
	for _, r := range rs {
		if r.Resource == "" {
			continue
		}
		if p.Requests == nil {
			p.Requests = map[corev1.ResourceName]int64{}
			reqs = Requests(pod)
		}
		q := reqs[r.Resource]
		p.Requests[r.Resource] = q.Value()
	}
	return p
}

// Request is the pod's effective request of res, as kube-scheduler counts
// it (component-helpers resource.PodRequests, the scheduler's own rule): app
// containers and restartable (sidecar) init containers add up; an ordinary
// init container needs its own request plus the sidecars started before it,
// and the pod needs the largest of those moments; pod overhead is added. A
// container's limit stands in for a missing request, as the API server's
// defaulting does it.
func Request(pod *corev1.Pod, res corev1.ResourceName) int64 {
	q := Requests(pod)[res]
	return q.Value()
}

// Requests are the pod's effective requests of every resource it names,
// by Request's rule: for callers that want several, worked out once.
func Requests(pod *corev1.Pod) corev1.ResourceList {
	return resourcehelper.PodRequests(withDefaultedRequests(pod), resourcehelper.PodResourcesOptions{})
}

// withDefaultedRequests returns the pod with each container's missing
// requests set to its limits, as the API server stores pods; the pod itself
// when nothing is missing (the usual case), else a copy.
func withDefaultedRequests(pod *corev1.Pod) *corev1.Pod {
	missing := func(cs []corev1.Container) bool {
		for i := range cs {
			for r := range cs[i].Resources.Limits {
				if _, ok := cs[i].Resources.Requests[r]; !ok {
					return true
				}
			}
		}
		return false
	}
	if !missing(pod.Spec.Containers) && !missing(pod.Spec.InitContainers) {
		return pod
	}
	cp := pod.DeepCopy()
	for _, cs := range [][]corev1.Container{cp.Spec.Containers, cp.Spec.InitContainers} {
		for i := range cs {
			rr := &cs[i].Resources
			for r, q := range rr.Limits {
				if _, ok := rr.Requests[r]; !ok {
					if rr.Requests == nil {
						rr.Requests = corev1.ResourceList{}
					}
					rr.Requests[r] = q
				}
			}
		}
	}
	return cp
}

// Terminated reports whether a pod no longer holds its node's resources.
func Terminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}
