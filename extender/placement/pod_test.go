package placement

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/railnet/railnet/extender/rails"
)

// Request counts a pod's RDMA slots the way kube-scheduler does (KEP-753:
// sidecars add up and stay; an init container needs its own request plus
// the sidecars started before it), so the extender's slot books match the
// scheduler's NodeResourcesFit.
func TestRequestMatchesScheduler(t *testing.T) {
	const res = corev1.ResourceName("spidernet.io/shared_cx5_gpu1")
	always := corev1.ContainerRestartPolicyAlways
	req := func(n string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{res: resource.MustParse(n)}}
	}
	app := func(n string) corev1.Container { return corev1.Container{Name: "app", Resources: req(n)} }
	initC := func(n string) corev1.Container { return corev1.Container{Name: "init", Resources: req(n)} }
	sidecar := func(n string) corev1.Container {
		return corev1.Container{Name: "sidecar", RestartPolicy: &always, Resources: req(n)}
	}
	tests := []struct {
		name       string
		init, apps []corev1.Container
		overhead   corev1.ResourceList
		want       int64
	}{
		{name: "app containers add up", apps: []corev1.Container{app("1"), app("2")}, want: 3},
		{name: "larger init container wins", init: []corev1.Container{initC("5")}, apps: []corev1.Container{app("1"), app("2")}, want: 5},
		{name: "init before sidecar: init runs alone", init: []corev1.Container{initC("1"), sidecar("1")}, want: 1},
		{name: "sidecar before init: both at once", init: []corev1.Container{sidecar("1"), initC("1")}, want: 2},
		{name: "sidecar stays beside the app", init: []corev1.Container{sidecar("1")}, apps: []corev1.Container{app("1")}, want: 2},
		{name: "init, sidecar, app", init: []corev1.Container{initC("2"), sidecar("1")}, apps: []corev1.Container{app("1")}, want: 2},
		{name: "two sidecars then a large init", init: []corev1.Container{sidecar("1"), sidecar("1"), initC("3")}, apps: []corev1.Container{app("1")}, want: 5},
		{name: "limit only (API server defaults the request)", apps: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{res: resource.MustParse("2")}}}}, want: 2},
		{name: "pod overhead", apps: []corev1.Container{app("1")}, overhead: corev1.ResourceList{res: resource.MustParse("1")}, want: 2},
		{name: "no request", apps: []corev1.Container{{Name: "app"}}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{InitContainers: tt.init, Containers: tt.apps, Overhead: tt.overhead}}
			if got := Request(pod, res); got != tt.want {
				t.Errorf("Request = %d, want %d", got, tt.want)
			}
			if got := NewPod(pod, []rails.Rail{{Network: "spiderpool/gpu1-macvlan", Resource: res}}).Requests[res]; got != tt.want {
				t.Errorf("NewPod requests %d, want %d", got, tt.want)
			}
		})
	}
}
