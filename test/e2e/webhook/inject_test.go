package webhook

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/test/poll"
)

const rdmaKey = spiderv2beta1.AnnotationRDMAResourceInject

// seedStep4Networks is the networks annotation of the seed guide's step 4,
// character for character.
const seedStep4Networks = `[{"name":"gpu1-sriov","namespace":"spiderpool"},
{"name":"gpu2-sriov","namespace":"spiderpool"},
{"name":"gpu3-sriov","namespace":"spiderpool"},
{"name":"gpu4-sriov","namespace":"spiderpool"},
{"name":"gpu5-sriov","namespace":"spiderpool"},
{"name":"gpu6-sriov","namespace":"spiderpool"},
{"name":"gpu7-sriov","namespace":"spiderpool"},
{"name":"gpu8-sriov","namespace":"spiderpool"}]`

// TestSeedScenario follows the seed guide's webhook section: eight pools
// and eight SpiderMultusConfigs in group rdma-network, then a Deployment
// whose pod template names the group.
func TestSeedScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	setConfig(t, "  enabled: true\n")
	startWebhook(t)
	cluster.EnsureNamespace(t, "spiderpool")
	cluster.EnsureNamespace(t, "ai")

	applied, err := cluster.Apply(ctx, seedObjects(t))
	if err != nil {
		t.Fatalf("seed YAML refused: %v", err)
	}
	t.Cleanup(func() {
		for _, u := range applied {
			_ = cluster.Client.Delete(context.Background(), u)
		}
	})

	// Defaulting moved the seed forms and normalised the subnet.
	var smc spiderv2beta1.SpiderMultusConfig
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: "gpu3-sriov"}, &smc); err != nil {
		t.Fatal(err)
	}
	if smc.Spec.IPPools != nil || smc.Spec.Macvlan.EnableRdma ||
		!reflect.DeepEqual(smc.Spec.Macvlan.IPPools, &spiderv2beta1.PoolsConfig{IPv4: []string{"gpu3-net13"}}) ||
		smc.Spec.Macvlan.RDMAResourceName != "spidernet.io/gpu3rdma" {
		t.Errorf("gpu3-sriov not normalised:\n%s", mustYAML(t, smc.Spec))
	}
	var pool spiderv2beta1.SpiderIPPool
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: "gpu3-net13"}, &pool); err != nil {
		t.Fatal(err)
	}
	if pool.Spec.Subnet != "172.16.0.0/16" || pool.Spec.IPVersion == nil || *pool.Spec.IPVersion != 4 {
		t.Errorf("gpu3-net13 not normalised:\n%s", mustYAML(t, pool.Spec))
	}

	// The seed's step 3 (the template's annotation).
	replicas := int32(2)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ai", Name: "rdma-tools"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "rdma-tools"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "rdma-tools"},
					Annotations: map[string]string{rdmaKey: "rdma-network"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "rdma-tools", Image: "rdma-tools"}}},
			},
		},
	}
	if err := cluster.Client.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.Delete(context.Background(), dep, client.PropagationPolicy(metav1.DeletePropagationForeground))
		_ = cluster.Client.DeleteAllOf(context.Background(), &corev1.Pod{}, client.InNamespace("ai"))
	})
	var pods corev1.PodList
	poll.Until(t, 90*time.Second, "Deployment's two pods", func() error {
		if err := cluster.Client.List(ctx, &pods, client.InNamespace("ai"), client.MatchingLabels{"app": "rdma-tools"}); err != nil {
			return err
		}
		if len(pods.Items) != 2 {
			return fmt.Errorf("%d pods", len(pods.Items))
		}
		return nil
	})
	wantLimits := corev1.ResourceList{}
	for n := 1; n <= 8; n++ {
		wantLimits[corev1.ResourceName(fmt.Sprintf("spidernet.io/gpu%drdma", n))] = resource.MustParse("1")
	}
	for _, p := range pods.Items {
		if got := p.Annotations["k8s.v1.cni.cncf.io/networks"]; got != seedStep4Networks {
			t.Errorf("pod %s networks =\n%s\nwant the seed's\n%s", p.Name, got, seedStep4Networks)
		}
		if got := p.Spec.Containers[0].Resources.Limits; !equalResources(got, wantLimits) {
			t.Errorf("pod %s limits = %v, want the seed's eight spidernet.io/gpuNrdma: 1", p.Name, got)
		}
	}

	// Every SpiderMultusConfig got its NetworkAttachmentDefinition, owned by it.
	var nads nadv1.NetworkAttachmentDefinitionList
	poll.Until(t, 30*time.Second, "eight NetworkAttachmentDefinitions", func() error {
		if err := cluster.Client.List(ctx, &nads, client.InNamespace("spiderpool")); err != nil {
			return err
		}
		n := 0
		for _, d := range nads.Items {
			if strings.HasSuffix(d.Name, "-sriov") && metav1.GetControllerOf(&d) != nil && metav1.GetControllerOf(&d).Kind == "SpiderMultusConfig" {
				n++
			}
		}
		if n != 8 {
			return fmt.Errorf("%d owned NADs", n)
		}
		return nil
	})
	var nad nadv1.NetworkAttachmentDefinition
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: "gpu5-sriov"}, &nad); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"master": "enp15s0f0np0"`, `"type": "railnet-ipam"`, `"gpu5-net15"`, `"type": "railnet-coordinator"`} {
		if !strings.Contains(nad.Spec.Config, want) {
			t.Errorf("NAD gpu5-sriov config lacks %s:\n%s", want, nad.Spec.Config)
		}
	}
	// Deleted → recreated; SMC changed → NAD follows.
	oldUID := nad.UID
	if err := cluster.Client.Delete(ctx, &nad); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "NAD gpu5-sriov recreated", func() error {
		var again nadv1.NetworkAttachmentDefinition
		if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(&nad), &again); err != nil {
			return err
		}
		if again.UID == oldUID {
			return fmt.Errorf("still the old object")
		}
		return nil
	})
	var smc5 spiderv2beta1.SpiderMultusConfig
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: "gpu5-sriov"}, &smc5); err != nil {
		t.Fatal(err)
	}
	mtu := int32(4000)
	smc5.Spec.Macvlan.MTU = &mtu
	if err := cluster.Client.Update(ctx, &smc5); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "NAD gpu5-sriov follows the MTU change", func() error {
		var again nadv1.NetworkAttachmentDefinition
		if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(&nad), &again); err != nil {
			return err
		}
		if !strings.Contains(again.Spec.Config, `"mtu": 4000`) {
			return fmt.Errorf("config:\n%s", again.Spec.Config)
		}
		return nil
	})

	// The seed's first SpiderMultusConfig example (spec.rdmaResourceName),
	// put into a group, injects its resource.
	step3, err := cluster.Apply(ctx, readSeed(t, "step3-pool-and-macvlan-config.yaml"))
	if err != nil {
		t.Fatalf("seed step 3 YAML refused: %v", err)
	}
	t.Cleanup(func() {
		for _, u := range step3 {
			_ = cluster.Client.Delete(context.Background(), u)
		}
	})
	var gpu1 spiderv2beta1.SpiderMultusConfig
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: "gpu1-macvlan"}, &gpu1); err != nil {
		t.Fatal(err)
	}
	if gpu1.Spec.RDMAResourceName != "" || gpu1.Spec.Macvlan.RDMAResourceName != "spidernet.io/shared_cx5_gpu1" {
		t.Errorf("step 3 config not normalised:\n%s", mustYAML(t, gpu1.Spec))
	}
	patch := client.MergeFrom(gpu1.DeepCopy())
	gpu1.Annotations = map[string]string{rdmaKey: "step3"}
	if err := cluster.Client.Patch(ctx, &gpu1, patch); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "pod in group step3", func() error {
		p, err := probePod(ctx, "ai", map[string]string{rdmaKey: "step3"})
		if err != nil {
			return err
		}
		if _, ok := p.Spec.Containers[0].Resources.Limits["spidernet.io/shared_cx5_gpu1"]; !ok {
			return fmt.Errorf("limits %v", p.Spec.Containers[0].Resources.Limits)
		}
		return nil
	})
}

// TestRefusalsThroughAPIServer checks that the apiserver passes the
// webhook's refusals on to the user.
func TestRefusalsThroughAPIServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setConfig(t, "  enabled: true\n")
	startWebhook(t)
	cluster.EnsureNamespace(t, "spiderpool")
	cluster.EnsureNamespace(t, "refusals")
	applied, err := cluster.Apply(ctx, seedObjects(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, u := range applied {
			_ = cluster.Client.Delete(context.Background(), u)
		}
	})
	tests := []struct {
		name string
		ann  map[string]string
		want string
	}{
		{name: "unknown group", ann: map[string]string{rdmaKey: "nope"},
			want: `pod refusals/probe-* asks for inject group "nope" (annotation cni.spidernet.io/rdma-resource-inject) but no SpiderMultusConfig carries cni.spidernet.io/rdma-resource-inject: nope`},
		{name: "own networks annotation", ann: map[string]string{rdmaKey: "rdma-network", "k8s.v1.cni.cncf.io/networks": "spiderpool/mine"},
			want: `pod refusals/probe-* sets k8s.v1.cni.cncf.io/networks itself and also asks for inject group "rdma-network"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := probePod(ctx, "refusals", tt.ann)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// SpiderMultusConfigs the webhook refuses.
	vlan := int32(100)
	for _, tt := range []struct {
		spec spiderv2beta1.MultusCNIConfigSpec
		ann  map[string]string
		want string
	}{
		{spec: spiderv2beta1.MultusCNIConfigSpec{Macvlan: &spiderv2beta1.MacvlanConfig{Master: []string{"eth1", "eth2"}}}, ann: map[string]string{rdmaKey: "rdma-network"},
			want: "SpiderMultusConfig spiderpool/bad: spec.macvlan.master lists 2 NICs (eth1, eth2) but a pod's macvlan interface sits on a single NIC"},
		{spec: spiderv2beta1.MultusCNIConfigSpec{Macvlan: &spiderv2beta1.MacvlanConfig{Master: []string{"eth1"}, VlanID: &vlan,
			IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{"gpu1-net11"}}}},
			want: "SpiderMultusConfig spiderpool/bad: spec.macvlan.vlanID 100 is not supported: railnet does not create VLAN interfaces"},
		{spec: spiderv2beta1.MultusCNIConfigSpec{Macvlan: &spiderv2beta1.MacvlanConfig{Master: []string{"eth1"}}},
			ann:  map[string]string{spiderv2beta1.AnnotationNetworkResourceInject: "underlay"},
			want: "SpiderMultusConfig spiderpool/bad: spec.macvlan.ippools names no SpiderIPPool"},
	} {
		bad := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: "bad", Annotations: tt.ann}, Spec: tt.spec}
		if err := cluster.Client.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("bad SMC: err = %v, want %q", err, tt.want)
		}
	}
	// A pool with a live allocation cannot be deleted.
	alloc := &railnetv1.IPAllocation{ObjectMeta: metav1.ObjectMeta{Name: "gpu2-net12-172-16-12-7",
		Labels: map[string]string{railnetv1.LabelPool: "gpu2-net12"}},
		Spec: railnetv1.IPAllocationSpec{Pool: "gpu2-net12", IP: "172.16.12.7", PodNamespace: "ai", PodName: "x", PodUID: "u", Interface: "net2", Node: "n"}}
	if err := cluster.Client.Create(ctx, alloc); err != nil {
		t.Fatal(err)
	}
	// At once: the webhook reads allocations live, not from a cache that may
	// lag behind the create above.
	err = cluster.Client.Delete(ctx, &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: "gpu2-net12"}}, client.DryRunAll)
	if want := "SpiderIPPool gpu2-net12 still has 1 allocated address(es): 172.16.12.7; delete the pods using them first"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("delete a pool right after an allocation was made in it: err = %v, want %q", err, want)
	}
	if err := cluster.Client.Delete(ctx, alloc); err != nil {
		t.Fatal(err)
	}
}

// TestNamespacesExcludeLive changes the ConfigMap while the webhook runs.
func TestNamespacesExcludeLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setConfig(t, "  enabled: true\n")
	wh := startWebhook(t)
	cluster.EnsureNamespace(t, "spiderpool")
	cluster.EnsureNamespace(t, "excluded")
	applied, err := cluster.Apply(ctx, seedObjects(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, u := range applied {
			_ = cluster.Client.Delete(context.Background(), u)
		}
	})
	injected := func(p *corev1.Pod) bool { return p.Annotations["k8s.v1.cni.cncf.io/networks"] != "" }
	ann := map[string]string{rdmaKey: "rdma-network"}
	poll.Until(t, 30*time.Second, "injection before the change", func() error {
		p, err := probePod(ctx, "excluded", ann)
		if err != nil {
			return err
		}
		if !injected(p) {
			return fmt.Errorf("not injected")
		}
		return nil
	})
	setConfig(t, "  enabled: true\n  namespacesExclude: [excluded]\n")
	poll.Until(t, 30*time.Second, "no injection after namespacesExclude", func() error {
		p, err := probePod(ctx, "excluded", ann)
		if err != nil {
			return err
		}
		if injected(p) {
			return fmt.Errorf("still injected")
		}
		return nil
	})
	// A real pod, not a dry run, is created untouched.
	p := newPod("excluded", "real-", ann)
	if err := cluster.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), p) })
	if injected(p) || len(p.Spec.Containers[0].Resources.Limits) != 0 {
		t.Errorf("pod in excluded namespace was injected: %v", p.Annotations)
	}
	select {
	case <-wh.done:
		t.Fatal("webhook restarted or exited")
	default:
	}
}

// TestNamespaceAnnotation injects pods of an annotated namespace through
// the second webhook entry (namespaceSelector on the mirrored label).
func TestNamespaceAnnotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setConfig(t, "  enabled: true\n")
	startWebhook(t)
	cluster.EnsureNamespace(t, "spiderpool")
	applied, err := cluster.Apply(ctx, seedObjects(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, u := range applied {
			_ = cluster.Client.Delete(context.Background(), u)
		}
	})
	cluster.EnsureNamespace(t, "team-a")
	var ns corev1.Namespace
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: "team-a"}, &ns); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ns.DeepCopy())
	ns.Annotations = map[string]string{rdmaKey: "rdma-network"}
	if err := cluster.Client.Patch(ctx, &ns, patch); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "unannotated pod in annotated namespace injected", func() error {
		p, err := probePod(ctx, "team-a", nil)
		if err != nil {
			return err
		}
		if p.Annotations["k8s.v1.cni.cncf.io/networks"] != seedStep4Networks {
			return fmt.Errorf("annotations %v", p.Annotations)
		}
		return nil
	})
}

// TestWebhookDown: with the process killed, pods without an inject
// annotation are still created; annotated ones are refused.
func TestWebhookDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setConfig(t, "  enabled: true\n")
	wh := startWebhook(t)
	cluster.EnsureNamespace(t, "outage")
	// Registration in effect: an annotated pod reaches the webhook (and is
	// refused: no such group).
	poll.Until(t, 30*time.Second, "registration in effect", func() error {
		_, err := probePod(ctx, "outage", map[string]string{rdmaKey: "nope"})
		if err == nil || !strings.Contains(err.Error(), `asks for inject group "nope"`) {
			return fmt.Errorf("err = %v", err)
		}
		return nil
	})
	wh.Kill()
	plain := newPod("outage", "plain-", nil)
	if err := cluster.Client.Create(ctx, plain); err != nil {
		t.Fatalf("unannotated pod refused while the webhook is down: %v", err)
	}
	t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), plain) })
	err := cluster.Client.Create(ctx, newPod("outage", "annotated-", map[string]string{rdmaKey: "rdma-network"}))
	if err == nil || !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `failed calling webhook "pods.inject.railnet.io"`) {
		t.Fatalf("annotated pod while the webhook is down: err = %v, want a refusal naming the webhook", err)
	}
}

func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/seed/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}
