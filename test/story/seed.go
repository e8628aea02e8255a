package story

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/railnet/railnet/test/realnode"
)

// SeedManifests are the seed guide's webhook-section objects for all 8 GPUs
// (the guide spells out GPU 1 and says the others follow the pattern), with
// the seed's own field placements (ippools and rdmaResourceName under spec)
// and /24 subnets so each rail's subnet is its own.
func SeedManifests() []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: spiderpool\n---\n")
	for i := 1; i <= 8; i++ {
		writeSeedPool(&b, i, 24)
		fmt.Fprintf(&b, `apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderMultusConfig
metadata:
  name: gpu%[1]d-macvlan
  namespace: spiderpool
  annotations:
    cni.spidernet.io/rdma-resource-inject: rdma-network
spec:
  cniType: macvlan
  rdmaResourceName: spidernet.io/shared_cx5_gpu%[1]d
  macvlan:
    master: ["enp1%[1]ds0f0np0"]
    enableRdma: true
  ippools:
    ipv4: ["gpu%[1]d-net1%[1]d"]
---
`, i)
	}
	return []byte(b.String())
}

// SeedPoolsAsWritten are the seed guide's 8 SpiderIPPools exactly as it
// writes them: subnet 172.16.1N.0/16, which is the network 172.16.0.0/16 for
// every rail. SeedManifests uses the /24 of each rail instead, as the seed's
// own pod output shows its addresses.
func SeedPoolsAsWritten() []byte {
	var b strings.Builder
	for i := 1; i <= 8; i++ {
		writeSeedPool(&b, i, 16)
	}
	return []byte(b.String())
}

// writeSeedPool writes the seed's SpiderIPPool of GPU i with a subnet of
// prefix length bits.
func writeSeedPool(b *strings.Builder, i, bits int) {
	fmt.Fprintf(b, `apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderIPPool
metadata:
  name: gpu%[1]d-net1%[1]d
spec:
  gateway: 172.16.1%[1]d.254
  subnet: 172.16.1%[1]d.0/%[2]d
  ips:
  - 172.16.1%[1]d.1-172.16.1%[1]d.200
---
`, i, bits)
}

// TrainNamespace is where the story's training job runs.
const TrainNamespace = "train"

// Trainer is the story's training job: a Deployment whose pod template
// carries the seed's inject annotation and nothing else about networks.
func Trainer(replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": "trainer"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: TrainNamespace, Name: "trainer"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
					"cni.spidernet.io/rdma-resource-inject": "rdma-network",
				}},
				// The seed runs ghcr.io/spidernet-io/rdma-tools; the nodes here
				// have no registry, so the trainer is a local busybox that
				// waits (ip and ls show its rails and RDMA devices).
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "trainer", Image: realnode.BusyboxImage,
						ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sleep", "86400"}}},
					TerminationGracePeriodSeconds: ptr.To[int64](1),
				},
			},
		},
	}
}
