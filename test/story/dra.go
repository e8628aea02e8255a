package story

import (
	"context"
	"fmt"
	"strings"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/draground"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/realnode"
	"github.com/railnet/railnet/webhook/drainject"
)

// DRAGroup is the story's inject group in DRA mode: the seed's 8 rails
// again, as SpiderMultusConfigs gpu<N>-dra on the seed's pools, annotated
// railnet.io/inject-mode: dra.
const DRAGroup = "rdma-dra"

// DRANamespace is where the story's DRA-mode pods run; it asks railnet to
// keep DRAGroup's claim templates there.
const DRANamespace = "train-dra"

// DRAManifests are DRAGroup's SpiderMultusConfigs and DRANamespace
// (apply after SeedManifests: they use its pools).
func DRAManifests() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Namespace
metadata:
  name: %s
  annotations:
    railnet.io/claim-templates: %s
`, DRANamespace, DRAGroup)
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, `---
apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderMultusConfig
metadata:
  name: gpu%[1]d-dra
  namespace: spiderpool
  annotations:
    cni.spidernet.io/rdma-resource-inject: %[2]s
    railnet.io/inject-mode: dra
spec:
  cniType: macvlan
  macvlan:
    master: ["enp1%[1]ds0f0np0"]
    ippools:
      ipv4: ["gpu%[1]d-net1%[1]d"]
`, i, DRAGroup)
	}
	return []byte(b.String())
}

// DRATrainer is a pod of DRAGroup asking for gpus nvidia.com/gpu, as a
// device-plugin user writes it: the webhook turns the GPUs into a claim
// pairing them with their affine rails.
func DRATrainer(name string, gpus int64) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: DRANamespace, Name: name,
			Annotations: map[string]string{"cni.spidernet.io/rdma-resource-inject": DRAGroup}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "trainer", Image: realnode.BusyboxImage,
				ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"sleep", "86400"},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
					"nvidia.com/gpu": *resource.NewQuantity(gpus, resource.DecimalSI)}}}},
			TerminationGracePeriodSeconds: ptr.To[int64](1),
		},
	}
}

// ApplyDRAGroup applies DRAManifests and waits until the webhook's
// controller made what the group's pods need: its network
// (railnet-dra-<group> beside its configs) and, in DRANamespace, its claim
// templates.
func (e *Env) ApplyDRAGroup(ctx context.Context, tb ground.TB) {
	tb.Helper()
	c := e.Cluster.Client
	if _, err := e.Cluster.Apply(ctx, DRAManifests()); err != nil {
		tb.Fatalf("the DRA-mode group's manifests were refused: %v", err)
	}
	WaitFor(ctx, tb, "NetworkAttachmentDefinition spiderpool/"+drainject.NetworkName(DRAGroup), func() (bool, string) {
		err := c.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: drainject.NetworkName(DRAGroup)}, &nadv1.NetworkAttachmentDefinition{})
		return err == nil, fmt.Sprint(err)
	})
	WaitFor(ctx, tb, "the claim templates of "+DRAGroup+" in "+DRANamespace, func() (bool, string) {
		var l resourceapi.ResourceClaimTemplateList
		if err := c.List(ctx, &l, client.InNamespace(DRANamespace)); err != nil {
			return false, err.Error()
		}
		return len(l.Items) == drainject.MaxGPUs, fmt.Sprintf("%d templates", len(l.Items))
	})
}

// RunDRAPod creates DRATrainer(name, gpus), waits until it runs and
// returns it with its allocated claim.
func (e *Env) RunDRAPod(ctx context.Context, tb ground.TB, name string, gpus int64) (*corev1.Pod, *resourceapi.ResourceClaim) {
	tb.Helper()
	c := e.Cluster.Client
	pod := DRATrainer(name, gpus)
	if err := c.Create(ctx, pod); err != nil {
		tb.Fatalf("create pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	WaitFor(ctx, tb, "pod "+DRANamespace+"/"+name+" running", func() (bool, string) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return false, err.Error()
		}
		if pod.Status.Phase == corev1.PodRunning {
			return true, ""
		}
		var evs corev1.EventList
		_ = c.List(ctx, &evs, client.InNamespace(DRANamespace))
		msgs := []string{string(pod.Status.Phase)}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Name == name {
				msgs = append(msgs, ev.Reason+": "+ev.Message)
			}
		}
		return false, strings.Join(msgs, " | ")
	})
	claim, err := draground.PodClaim(ctx, c, pod, drainject.ClaimName)
	if err != nil {
		tb.Fatal(err)
	}
	return pod, claim
}
