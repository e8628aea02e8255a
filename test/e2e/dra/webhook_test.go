package dra

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/dra/claimfiles"
	"github.com/railnet/railnet/test/draground"
	"github.com/railnet/railnet/test/simnode"
	"github.com/railnet/railnet/test/story"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
)

// TestWebhookDRAMode: on a real node with Multus as its CNI, railnet's
// webhook turns a pod of a DRA-mode inject group that asks for 2
// nvidia.com/gpu into a claim pairing them with their 2 affine rails, and
// Multus runs the group's railnet-dra network, which gives the pod exactly
// those rails; refusals say what to do, and doing it works.
func TestWebhookDRAMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	e := story.Up(t, story.Options{Nodes: 1, Coordinator: true, DRA: true})
	c := e.Cluster.Client
	e.WaitNodesReady(ctx, t)
	if _, err := e.Cluster.Apply(ctx, story.SeedManifests()); err != nil {
		t.Fatal(err)
	}
	e.ApplyDRAGroup(ctx, t)

	pod, claim := e.RunDRAPod(ctx, t, "dra-trainer", 2)
	gpus, rails := draground.Allocated(claim)

	t.Run("the webhook wrote the claim, the GPU limit's replacement and the group's network", func(t *testing.T) {
		wantTpl := drainject.TemplateName(story.DRAGroup, 2)
		if len(pod.Spec.ResourceClaims) != 1 || pod.Spec.ResourceClaims[0].Name != drainject.ClaimName ||
			pod.Spec.ResourceClaims[0].ResourceClaimTemplateName == nil || *pod.Spec.ResourceClaims[0].ResourceClaimTemplateName != wantTpl {
			t.Errorf("pod claims %+v, want %s from %s", pod.Spec.ResourceClaims, drainject.ClaimName, wantTpl)
		}
		ctr := pod.Spec.Containers[0]
		if len(ctr.Resources.Claims) != 1 || ctr.Resources.Claims[0].Name != drainject.ClaimName {
			t.Errorf("container claims %+v", ctr.Resources.Claims)
		}
		if _, ok := ctr.Resources.Limits[drainject.GPUResource]; ok {
			t.Errorf("container keeps its %s limit: %v", drainject.GPUResource, ctr.Resources.Limits)
		}
		if got, want := pod.Annotations["k8s.v1.cni.cncf.io/networks"], `[{"name":"`+drainject.NetworkName(story.DRAGroup)+`","namespace":"spiderpool"}]`; got != want {
			t.Errorf("networks annotation %s, want %s", got, want)
		}
		if !strings.Contains(pod.Annotations[inject.AnnotationSummary], "DRA mode") {
			t.Errorf("summary %q", pod.Annotations[inject.AnnotationSummary])
		}
	})

	t.Run("the claim pairs 2 GPUs with the 2 rails on their PCIe root", func(t *testing.T) {
		if len(gpus) != 2 || len(rails) != 2 {
			t.Fatalf("claim %s: GPUs %v, rails %v", claim.Name, gpus, rails)
		}
		root := fixtureRoots[gpus[0]]
		var want []int
		for i, r := range fixtureRoots {
			if r == root {
				want = append(want, i)
			}
		}
		if fixtureRoots[gpus[1]] != root || !slices.Equal(rails, want) {
			t.Errorf("GPUs %v (root %s) got rails %v, want %v", gpus, root, rails, want)
		}
	})

	t.Run("Multus ran the group's network: exactly the claimed rails, with policy routing", func(t *testing.T) {
		out, err := e.Cluster.ExecWhenReady(ctx, time.Minute, story.DRANamespace, pod.Name, "trainer", "ip", "-o", "-4", "addr", "show")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		addrs := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 4 && strings.HasPrefix(f[1], "net") {
				addrs[f[1]] = f[3]
			}
		}
		var names, want []string
		for n := range addrs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, r := range rails {
			want = append(want, claimfiles.InterfaceName(int32(r)))
		}
		if !slices.Equal(names, want) {
			t.Fatalf("pod interfaces %v, want %v for rails %v", addrs, want, rails)
		}
		rules, err := e.Cluster.Exec(ctx, story.DRANamespace, pod.Name, "trainer", "ip", "rule")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rails {
			ifName := claimfiles.InterfaceName(int32(r))
			addr, _, _ := strings.Cut(addrs[ifName], "/")
			table := fmt.Sprint(100 + r)
			if !strings.Contains(rules, "from "+addr+" lookup "+table) {
				t.Errorf("%s (%s): no rule to table %s in\n%s", ifName, addr, table, rules)
			}
			routes, err := e.Cluster.Exec(ctx, story.DRANamespace, pod.Name, "trainer", "ip", "route", "show", "table", table)
			gw := simnode.SeedRails()[r].Gateway.Addr().String()
			if err != nil || !strings.Contains(routes, "default via "+gw+" dev "+ifName) {
				t.Errorf("table %s: %q, %v; want the default route via %s", table, routes, err, gw)
			}
		}
	})

	t.Run("refusals name what to do, and doing it works", func(t *testing.T) {
		noGPU := story.DRATrainer("no-gpu", 0)
		noGPU.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
		err := c.Create(ctx, noGPU)
		if err == nil || !strings.Contains(err.Error(), `inject group "rdma-dra" is in DRA mode, where rails follow GPUs, and no container asks for nvidia.com/gpu; ask for GPUs, or name a device-plugin mode group`) {
			t.Errorf("GPU-less pod: %v", err)
		}
		e.Cluster.EnsureNamespace(t, "elsewhere")
		other := story.DRATrainer("elsewhere", 1)
		other.Namespace = "elsewhere"
		err = c.Create(ctx, other.DeepCopy())
		const told = "kubectl annotate namespace elsewhere railnet.io/claim-templates=rdma-dra"
		if err == nil || !strings.Contains(err.Error(), "ResourceClaimTemplate elsewhere/railnet-rdma-dra-1, does not exist") || !strings.Contains(err.Error(), told) {
			t.Fatalf("pod in a namespace without the templates: %v", err)
		}
		// Do as told.
		ns := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: "elsewhere"}, ns); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(ns.DeepCopy())
		if ns.Annotations == nil {
			ns.Annotations = map[string]string{}
		}
		ns.Annotations[drainject.TemplatesAnnotation] = story.DRAGroup
		if err := c.Patch(ctx, ns, patch); err != nil {
			t.Fatal(err)
		}
		story.WaitFor(ctx, t, "the pod accepted once the namespace asks for the templates", func() (bool, string) {
			err := c.Create(ctx, other.DeepCopy(), client.DryRunAll)
			return err == nil, fmt.Sprint(err)
		})
	})

	t.Run("deleting the pod releases its rail addresses", func(t *testing.T) {
		if err := c.Delete(ctx, pod, client.GracePeriodSeconds(0)); err != nil {
			t.Fatal(err)
		}
		story.WaitFor(ctx, t, "the pod's IPAllocations gone", func() (bool, string) {
			var allocs railnetv1.IPAllocationList
			if err := c.List(ctx, &allocs); err != nil {
				return false, err.Error()
			}
			var left []string
			for _, a := range allocs.Items {
				if a.Spec.PodUID == string(pod.UID) {
					left = append(left, a.Spec.IP)
				}
			}
			return len(left) == 0, fmt.Sprintf("left %v", left)
		})
	})
}
