package placement

import (
	corev1 "k8s.io/api/core/v1"

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
	for _, r := range rs {
		if r.Resource == "" {
			continue
		}
		if p.Requests == nil {
			p.Requests = map[corev1.ResourceName]int64{}
		}
		p.Requests[r.Resource] = Request(pod, r.Resource)
	}
	return p
}

// Request is the pod's effective request of res, as the scheduler counts it:
// the sum over app containers or the largest init container, whichever is
// more. A container's limit stands in for a missing request.
func Request(pod *corev1.Pod, res corev1.ResourceName) int64 {
	var sum int64
	for i := range pod.Spec.Containers {
		sum += containerRequest(&pod.Spec.Containers[i], res)
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sum += containerRequest(c, res) // sidecar: runs alongside the app
			continue
		}
		sum = max(sum, containerRequest(c, res))
	}
	return sum
}

func containerRequest(c *corev1.Container, res corev1.ResourceName) int64 {
	if q, ok := c.Resources.Requests[res]; ok {
		return q.Value()
	}
	if q, ok := c.Resources.Limits[res]; ok {
		return q.Value()
	}
	return 0
}

// Terminated reports whether a pod no longer holds its node's resources.
func Terminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}
