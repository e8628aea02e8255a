package install

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/realnode"
	"github.com/railnet/railnet/test/simnode"
	"github.com/railnet/railnet/test/story"
)

const (
	release   = "railnet"
	namespace = "railnet-system"
	// excluded is the namespace the guide's helm upgrade excludes.
	excluded = "dev"
	// trainerImage is the image of the guide's examples/trainer.yaml.
	trainerImage = "ghcr.io/spidernet-io/rdma-tools:latest"
)

// seedSets are the seed guide's helm --set flags, as it writes them.
var seedSets = []string{"rdma.rdmaSharedDevicePlugin.install=true", "spiderpoolController.podResourceInject.enabled=true",
	"spiderpoolAgent.prometheus.enabled=true", "spiderpoolAgent.prometheus.enabledRdmaMetric=true", "grafanaDashboard.install=true"}

func TestHelmInstallOnRealNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Minute)
	defer cancel()
	network := realnode.NewNetwork(t)
	// No ground scheduler: the cluster's kube-scheduler runs on the
	// control-plane node, as kubeadm runs it (host network, no cluster DNS).
	c := ground.Start(t, ground.Options{RealNodes: true, AdvertiseAddress: network.Gateway.String(), NoScheduler: true})
	dir := t.TempDir()
	bins, err := realnode.Build(ctx, filepath.Join(dir, "node"))
	must(t, err)
	images, err := realnode.RailnetImages(ctx, filepath.Join(dir, "images"))
	must(t, err)
	// The guide's trainer runs the seed's rdma-tools image; the ground has
	// no registry, so the nodes hold the local busybox under that name (the
	// manifest's imagePullPolicy is IfNotPresent).
	busybox, err := realnode.BusyboxImageSpec(ctx)
	must(t, err)
	busybox.Ref = trainerImage
	must(t, busybox.WriteTarball(filepath.Join(dir, "images", "rdma-tools.tar")))
	images = append(images, filepath.Join(dir, "images", "rdma-tools.tar"))
	fixture, err := story.FixtureRoot(ctx)
	must(t, err)
	devices, err := realnode.InfinibandDevices(filepath.Join(fixture, "dev", "infiniband"))
	must(t, err)

	// The operator's prerequisites: Multus as each node's primary CNI
	// config and the reference plugins. railnet's own plugins come with the
	// chart (its agent's install-cni init container).
	cniBin := map[string]string{}
	for _, tool := range []ground.GoTool{ground.CNIPluginsTool(), ground.MultusTool()} {
		src, err := ground.BuildGoTool(ctx, tool)
		must(t, err)
		for name := range tool.Binaries {
			cniBin[name] = filepath.Join(src, name)
		}
	}
	multusKC := filepath.Join(dir, "multus.kubeconfig")
	must(t, c.WriteKubeconfig(multusKC, "https://"+network.Gateway.String()+":"+port(c.APIServerURL), c.AdminAuth()))
	kc, err := os.ReadFile(multusKC)
	must(t, err)
	fabric := simnode.NewFabric(t, simnode.SeedRails())
	var nodes []*realnode.Node
	for _, name := range []string{"worker1", "worker2"} {
		sn := fabric.AddNode(t, name)
		nodes = append(nodes, realnode.Start(t, c, network, bins, realnode.Spec{
			Name: name, Netns: sn.Netns, Devices: devices, CNIBin: cniBin, Images: images, KubeProxy: true,
			CNIConf: func(n *realnode.Node) map[string][]byte {
				return map[string][]byte{"00-multus.conflist": story.MultusConf(n.PodCIDR), "multus.d/multus.kubeconfig": kc}
			},
		}))
	}

	// worker1 is the control-plane node; its kube-scheduler starts plain,
	// as before railnet is installed.
	cp := nodes[0]
	must(t, c.Client.Patch(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: cp.Name}},
		client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":""}}}`))))
	must(t, cp.RunScheduler(nil))

	// helm install exactly as the operator guide says: the seed's --set
	// flags as the seed writes them (Spiderpool's keys), the guide's device
	// plugin values (the seed's 8 per-GPU resources), the extender on the
	// control-plane node for its kube-scheduler — plus, appended, the chart's
	// secondary scheduler (railnet-scheduler, for pods that opt in) and the
	// two values a simulated node needs (its RDMA is a fixture).
	g := newGuide(ctx, t, c.Kubeconfig)
	var dpConfig map[string]any
	must(t, json.Unmarshal(story.SeedDevicePluginConfig(), &dpConfig))
	values := map[string]any{
		"nodeAgent": map[string]any{"sysfsRoot": fixture, "rdmaNetnsMode": "shared"},
		"scheduler": map[string]any{"enabled": true},
	}
	valuesFile := filepath.Join(dir, "values.json")
	b, _ := json.Marshal(values)
	must(t, os.WriteFile(valuesFile, b, 0o600))
	start := time.Now()
	out := g.run(ctx, t, "helm install", nil, "-f", valuesFile, "--wait", "--timeout", "5m")
	if !strings.Contains(out, "set railnet's webhook.podResourceInject.enabled=true") {
		t.Errorf("helm install's notes do not say which railnet key the seed's flag set:\n%s", out)
	}
	t.Logf("helm install --wait: %s", time.Since(start).Round(time.Second))

	t.Run("every railnet pod runs and is ready", func(t *testing.T) {
		want := map[string]int{"webhook": 2, "extender": 1, "node-agent": len(nodes), "extender-control-plane": 1, "scheduler": 1}
		var pods corev1.PodList
		must(t, c.Client.List(ctx, &pods, client.InNamespace(namespace)))
		got := map[string]int{}
		for _, p := range pods.Items {
			if podReady(&p) {
				got[p.Labels["app.kubernetes.io/component"]]++
			}
		}
		for comp, n := range want {
			if got[comp] != n {
				t.Errorf("%d ready %s pods, want %d\n%s", got[comp], comp, n, podReport(ctx, c))
			}
		}
		// The agents' liveness endpoint, on each node's loopback (it
		// listens once the agent has started its parts).
		hctx, hcancel := context.WithTimeout(ctx, 2*time.Minute)
		defer hcancel()
		for _, n := range nodes {
			story.WaitFor(hctx, t, "agent /healthz ok on "+n.Name, func() (bool, string) {
				out, err := n.Command(ctx, "busybox", "wget", "-qO-", "http://127.0.0.1:9712/healthz").CombinedOutput()
				return err == nil && strings.HasPrefix(string(out), "ok"), fmt.Sprintf("%v %s", err, out)
			})
		}
		if out := g.run(ctx, t, "kubectl -n railnet-system get pods", nil); strings.Count(out, "Running") < 6 {
			t.Errorf("the guide's kubectl get pods shows fewer than 6 running railnet pods:\n%s", out)
		}
	})

	t.Run("the agents serve the seed's RDMA resources to the kubelets", func(t *testing.T) {
		for _, n := range nodes {
			story.WaitFor(ctx, t, n.Name+" allocatable 8 × 100 and 8 rails ready", func() (bool, string) {
				node := &corev1.Node{}
				_ = c.Client.Get(ctx, client.ObjectKey{Name: n.Name}, node)
				for i := range 8 {
					if q := node.Status.Allocatable[corev1.ResourceName(story.ResourceName(i))]; q.Value() != 100 {
						return false, fmt.Sprintf("%s = %s", story.ResourceName(i), q.String())
					}
				}
				return node.Labels[railnetv1.LabelRailsReady] == "8", fmt.Sprint(node.Labels)
			})
		}
		for _, cmd := range []string{"kubectl get nodes -o custom-columns", "kubectl get rdmanodes"} {
			if out := g.run(ctx, t, cmd, nil); !strings.Contains(out, "worker1") || !strings.Contains(out, "worker2") {
				t.Errorf("the guide's %s does not show both nodes:\n%s", cmd, out)
			}
		}
	})

	t.Run("each agent's token reaches only its own node", func(t *testing.T) {
		checkAgentTokens(ctx, t, c, nodes[0].Name, nodes[1].Name)
	})

	t.Run("the seed's pools and configs go through the webhook Service", func(t *testing.T) {
		if _, err := c.Apply(ctx, story.SeedManifests()); err != nil {
			t.Fatalf("the seed's manifests: %v", err)
		}
		for i := range 8 {
			name := fmt.Sprintf("gpu%d-macvlan", i+1)
			// The API server called the webhook's Service: it moved the
			// seed's spec.rdmaResourceName to its canonical place.
			smc := &spiderv2beta1.SpiderMultusConfig{}
			must(t, c.Client.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: name}, smc))
			if smc.Spec.Macvlan == nil || smc.Spec.Macvlan.RDMAResourceName != story.ResourceName(i) {
				t.Errorf("SpiderMultusConfig %s was not normalised by the webhook: %+v", name, smc.Spec)
			}
			story.WaitFor(ctx, t, "NetworkAttachmentDefinition "+name, func() (bool, string) {
				err := c.Client.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: name}, &nadv1.NetworkAttachmentDefinition{})
				return err == nil, fmt.Sprint(err)
			})
		}
	})

	t.Run("the control-plane kube-scheduler takes the chart's extender stanza", func(t *testing.T) {
		cm := &corev1.ConfigMap{}
		must(t, c.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: release + "-extender-scheduler-config"}, cm))
		var extenders []schedconfigv1.Extender
		must(t, yaml.UnmarshalStrict([]byte(cm.Data["extender.yaml"]), &extenders))
		if len(extenders) != 1 || extenders[0].URLPrefix != "http://127.0.0.1:10262" || len(extenders[0].ManagedResources) != 8 {
			t.Fatalf("the rendered stanza is not the control-plane one:\n%s", cm.Data["extender.yaml"])
		}
		// As an operator edits the static pod's config: the kubelet
		// restarts kube-scheduler with it.
		must(t, cp.Kill("kube-scheduler", syscall.SIGTERM, 10*time.Second))
		must(t, cp.RunScheduler(extenders))
	})

	t.Run("an annotated Deployment gets its 8 rails and runs", func(t *testing.T) {
		// The operator guide's manifest and commands, as written.
		g.run(ctx, t, "kubectl apply -f charts/railnet/docs/examples/trainer.yaml", nil)
		must(t, c.AddNamespace(ctx, story.TrainNamespace)) // its default ServiceAccount, at once
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: story.TrainNamespace, Name: "trainer"}}
		var pods []corev1.Pod
		story.WaitFor(ctx, t, "2 trainer pods running", func() (bool, string) {
			var list corev1.PodList
			_ = c.Client.List(ctx, &list, client.InNamespace(story.TrainNamespace))
			pods = pods[:0]
			for _, p := range list.Items {
				if p.Status.Phase == corev1.PodRunning {
					pods = append(pods, p)
				}
			}
			return len(pods) == 2, podReport(ctx, c)
		})
		for _, p := range pods {
			var st []nadv1.NetworkStatus
			must(t, json.Unmarshal([]byte(p.Annotations[nadv1.NetworkStatusAnnot]), &st))
			rails := 0
			for _, s := range st {
				if strings.HasPrefix(s.Interface, "net") && len(s.IPs) == 1 {
					rails++
				}
			}
			if rails != 8 {
				t.Errorf("pod %s has %d rail interfaces with an address, want 8: %s", p.Name, rails, p.Annotations[nadv1.NetworkStatusAnnot])
			}
			rules, err := c.Exec(ctx, p.Namespace, p.Name, p.Spec.Containers[0].Name, "ip", "-4", "rule")
			if err != nil || strings.Count(rules, "lookup 10") != 8 {
				t.Errorf("pod %s policy rules (%v):\n%s", p.Name, err, rules)
			}
			checkNCCLConf(ctx, t, c, p)
		}
		if out := g.run(ctx, t, "kubectl -n train get pods -o wide", nil); strings.Count(out, "Running") != 2 {
			t.Errorf("the guide's kubectl get pods:\n%s", out)
		}
		if out := g.run(ctx, t, "kubectl -n train exec deploy/trainer -- ip rule", nil); strings.Count(out, "lookup 10") != 8 {
			t.Errorf("the guide's ip rule shows no 8 rail tables:\n%s", out)
		}
		// The scheduler asked the extender on its node's loopback.
		out, err := cp.Command(ctx, "busybox", "wget", "-qO-", "http://127.0.0.1:10262/metrics").CombinedOutput()
		if err != nil || !regexp.MustCompile(`railnet_extender_requests_total\{code="200",verb="filter"\} [1-9]`).Match(out) {
			t.Errorf("the control-plane extender answered no filter call (%v):\n%s", err, grepLines(string(out), "railnet_extender_requests_total"))
		}
		must(t, c.Client.Delete(ctx, dep))
		story.WaitFor(ctx, t, "trainer pods gone and their addresses released", func() (bool, string) {
			var list corev1.PodList
			_ = c.Client.List(ctx, &list, client.InNamespace(story.TrainNamespace))
			var allocs railnetv1.IPAllocationList
			_ = c.Client.List(ctx, &allocs)
			return len(list.Items) == 0 && len(allocs.Items) == 0, fmt.Sprintf("%d pods, %d allocations", len(list.Items), len(allocs.Items))
		})
	})

	t.Run("the chart's secondary scheduler places a pod through the extender beside it", func(t *testing.T) {
		// kube-scheduler and its extender share the scheduler pod; the
		// stanza is ignorable: false and the pod asks for the managed RDMA
		// resources, so the pod is bound only if that extender answered.
		p := annotatedPod(story.TrainNamespace)
		p.GenerateName = "secondary-"
		p.Labels = map[string]string{"app": "secondary"}
		p.Spec.SchedulerName = "railnet-scheduler"
		must(t, c.Client.Create(ctx, p))
		story.WaitFor(ctx, t, "the railnet-scheduler's pod running with 8 rails", func() (bool, string) {
			_ = c.Client.Get(ctx, client.ObjectKeyFromObject(p), p)
			var st []nadv1.NetworkStatus
			_ = json.Unmarshal([]byte(p.Annotations[nadv1.NetworkStatusAnnot]), &st)
			return p.Status.Phase == corev1.PodRunning && len(st) == 9, podReport(ctx, c)
		})
		var evs corev1.EventList
		must(t, c.Client.List(ctx, &evs, client.InNamespace(p.Namespace)))
		scheduledBy := ""
		for _, e := range evs.Items {
			if e.InvolvedObject.UID == p.UID && e.Reason == "Scheduled" {
				scheduledBy = cmp.Or(e.ReportingController, e.Source.Component)
			}
		}
		if scheduledBy != "railnet-scheduler" {
			t.Errorf("pod %s was scheduled by %q, want railnet-scheduler", p.Name, scheduledBy)
		}
		must(t, c.Client.Delete(ctx, p))
		story.WaitFor(ctx, t, "the secondary pod gone and its addresses released", func() (bool, string) {
			var allocs railnetv1.IPAllocationList
			_ = c.Client.List(ctx, &allocs)
			err := c.Client.Get(ctx, client.ObjectKeyFromObject(p), &corev1.Pod{})
			return apierrors.IsNotFound(err) && len(allocs.Items) == 0, fmt.Sprintf("%v, %d allocations", err, len(allocs.Items))
		})
	})

	t.Run("helm upgrade reloads live: no railnet pod restarts, certificates kept", func(t *testing.T) {
		pods := railnetPods(ctx, t, c)
		ca := caState(ctx, t, c)
		// The guide's upgrade (a namespace excluded from injection) with,
		// appended, the device plugin config edited (50 shares per NIC).
		for _, e := range dpConfig["configList"].([]any) {
			e.(map[string]any)["rdmaHcaMax"] = 50
		}
		upgrade := map[string]any{"rdma": map[string]any{"rdmaSharedDevicePlugin": map[string]any{"config": dpConfig}}}
		b, _ := json.Marshal(upgrade)
		upgradeFile := filepath.Join(dir, "upgrade.json")
		must(t, os.WriteFile(upgradeFile, b, 0o600))
		g.run(ctx, t, "helm upgrade", nil, "-f", upgradeFile, "--wait", "--timeout", "5m")
		waitShares(ctx, t, c, nodes, 50)
		c.EnsureNamespace(t, excluded)
		story.WaitFor(ctx, t, "no injection in the excluded namespace", func() (bool, string) {
			p := annotatedPod(excluded)
			err := c.Client.Create(ctx, p, client.DryRunAll)
			return err == nil && p.Annotations[nadv1.NetworkAttachmentAnnot] == "", fmt.Sprintf("%v %v", err, p.Annotations)
		})
		if after := railnetPods(ctx, t, c); !maps.Equal(after, pods) {
			t.Errorf("railnet pods changed across the upgrade:\nbefore %v\nafter  %v", pods, after)
		}
		if after := caState(ctx, t, c); after != ca {
			t.Errorf("the webhook's CA or caBundle changed across the upgrade")
		}
	})

	t.Run("helm rollback restores the installed config", func(t *testing.T) {
		pods := railnetPods(ctx, t, c)
		g.run(ctx, t, "helm rollback railnet 1", nil, "--wait", "--timeout", "5m")
		waitShares(ctx, t, c, nodes, 100)
		story.WaitFor(ctx, t, "injection in the no-longer-excluded namespace", func() (bool, string) {
			p := annotatedPod(excluded)
			err := c.Client.Create(ctx, p, client.DryRunAll)
			return err == nil && p.Annotations[nadv1.NetworkAttachmentAnnot] != "", fmt.Sprintf("%v %v", err, p.Annotations)
		})
		if after := railnetPods(ctx, t, c); !maps.Equal(after, pods) {
			t.Errorf("railnet pods changed across the rollback:\nbefore %v\nafter  %v", pods, after)
		}
	})

	t.Run("kubectl edit of the device plugin ConfigMap: managedResources follow, the secondary scheduler rolls", func(t *testing.T) {
		// The seed edits the device plugin's ConfigMap in place; here the
		// 8th resource is renamed, by the guide's kubectl edit with a
		// scripted editor.
		before := schedulerPod(ctx, t, c)
		g.run(ctx, t, "kubectl -n railnet-system edit configmap railnet-rdma-shared-device-plugin",
			[]string{"KUBE_EDITOR=sed -i s/shared_cx5_gpu8/shared_cx5_rail8/"})
		want := []string{story.ResourceName(0), story.ResourceName(1), story.ResourceName(2), story.ResourceName(3),
			story.ResourceName(4), story.ResourceName(5), story.ResourceName(6), "spidernet.io/shared_cx5_rail8"}
		for _, cmKey := range [][2]string{{release + "-extender-scheduler-config", "extender.yaml"}, {release + "-scheduler", "config.yaml"}} {
			story.WaitFor(ctx, t, "managedResources of "+cmKey[0]+" follow the edit", func() (bool, string) {
				cm := &corev1.ConfigMap{}
				if err := c.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: cmKey[0]}, cm); err != nil {
					return false, err.Error()
				}
				var got []string
				for _, e := range extenderEntries(t, cm.Data[cmKey[1]]) {
					for _, r := range e.ManagedResources {
						got = append(got, r.Name)
					}
				}
				return slices.Equal(got, want), fmt.Sprint(got)
			})
		}
		story.WaitFor(ctx, t, "a new railnet-scheduler pod ready", func() (bool, string) {
			p := schedulerPod(ctx, t, c)
			return p != nil && p.UID != before.UID && podReady(p), podReport(ctx, c)
		})
	})

	t.Run("helm uninstall leaves nothing railnet made", func(t *testing.T) {
		out := g.run(ctx, t, "helm uninstall railnet", nil, "--wait", "--timeout", "3m")
		if !strings.Contains(out, "uninstalled") {
			t.Errorf("helm uninstall said:\n%s", out)
		}
		story.WaitFor(ctx, t, "no railnet pod left", func() (bool, string) {
			var pods corev1.PodList
			_ = c.Client.List(ctx, &pods, client.InNamespace(namespace))
			return len(pods.Items) == 0, podReport(ctx, c)
		})
		// What railnet made at run time went with it (the post-delete
		// hook), the hook's own objects too; the IPAllocations of running
		// pods would stay, on purpose (there are none left here).
		var rns railnetv1.RDMANodeList
		must(t, c.Client.List(ctx, &rns))
		if len(rns.Items) != 0 {
			t.Errorf("%d RDMANodes left after uninstall", len(rns.Items))
		}
		var nodeList corev1.NodeList
		must(t, c.Client.List(ctx, &nodeList))
		for _, n := range nodeList.Items {
			for k := range n.Labels {
				if railnetv1.IsNodeLabel(k) {
					t.Errorf("node %s keeps label %s after uninstall", n.Name, k)
				}
			}
		}
		var nads nadv1.NetworkAttachmentDefinitionList
		must(t, c.Client.List(ctx, &nads))
		if len(nads.Items) != 0 {
			t.Errorf("%d NetworkAttachmentDefinitions left after uninstall", len(nads.Items))
		}
		for name, obj := range map[string]client.Object{
			release + "-ca": &corev1.Secret{}, release + "-scheduler-client": &corev1.Secret{}, release + "-extender-ca-bundle": &corev1.ConfigMap{},
			release + "-webhook": &coordinationv1.Lease{}, "railnet-ipam-pool-status": &coordinationv1.Lease{},
			release + "-uninstall": &batchv1.Job{},
		} {
			if err := c.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); !apierrors.IsNotFound(err) {
				t.Errorf("%T %s/%s is left after uninstall (get: %v)", obj, namespace, name, err)
			}
		}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: release + "-uninstall"}, &rbacv1.ClusterRole{}); !apierrors.IsNotFound(err) {
			t.Errorf("the uninstall hook's ClusterRole is left (get: %v)", err)
		}
	})

	// The guide's migration step: railnet's CRDs applied over what is there.
	g.run(ctx, t, "kubectl apply --server-side --force-conflicts -f charts/railnet/crds/", nil)
	g.allRun(t)
}

// schedulerPod is the chart's secondary scheduler's pod that is not being
// deleted, or nil.
func schedulerPod(ctx context.Context, t *testing.T, c *ground.Cluster) *corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	must(t, c.Client.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{"app.kubernetes.io/component": "scheduler"}))
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			return &p
		}
	}
	return nil
}

// extenderEntries reads the extenders of a published stanza (a list) or of
// a KubeSchedulerConfiguration.
func extenderEntries(t *testing.T, doc string) []schedconfigv1.Extender {
	t.Helper()
	var list []schedconfigv1.Extender
	if err := yaml.Unmarshal([]byte(doc), &list); err == nil {
		return list
	}
	var cfg struct {
		Extenders []schedconfigv1.Extender `json:"extenders"`
	}
	must(t, yaml.Unmarshal([]byte(doc), &cfg))
	return cfg.Extenders
}

// railnetPods maps each railnet pod to its UID and container restarts.
func railnetPods(ctx context.Context, t *testing.T, c *ground.Cluster) map[string]string {
	t.Helper()
	var pods corev1.PodList
	must(t, c.Client.List(ctx, &pods, client.InNamespace(namespace)))
	out := map[string]string{}
	for _, p := range pods.Items {
		restarts := 0
		for _, cs := range p.Status.ContainerStatuses {
			restarts += int(cs.RestartCount)
		}
		out[p.Name] = fmt.Sprintf("%s restarts=%d", p.UID, restarts)
	}
	return out
}

// caState is the webhook's CA Secret and the caBundle it injected.
func caState(ctx context.Context, t *testing.T, c *ground.Cluster) string {
	t.Helper()
	sec := &corev1.Secret{}
	must(t, c.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: release + "-ca"}, sec))
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	must(t, c.Client.Get(ctx, client.ObjectKey{Name: release + "-webhook"}, mwc))
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(sec.Data)) {
		b.WriteString(k + string(sec.Data[k]))
	}
	for _, w := range mwc.Webhooks {
		b.Write(w.ClientConfig.CABundle)
	}
	return b.String()
}

// waitShares waits until every node advertises n shares of each resource.
func waitShares(ctx context.Context, t *testing.T, c *ground.Cluster, nodes []*realnode.Node, n int64) {
	t.Helper()
	for _, node := range nodes {
		story.WaitFor(ctx, t, fmt.Sprintf("%s allocatable %d per RDMA resource", node.Name, n), func() (bool, string) {
			obj := &corev1.Node{}
			_ = c.Client.Get(ctx, client.ObjectKey{Name: node.Name}, obj)
			for i := range 8 {
				if q := obj.Status.Allocatable[corev1.ResourceName(story.ResourceName(i))]; q.Value() != n {
					return false, fmt.Sprintf("%s = %s", story.ResourceName(i), q.String())
				}
			}
			return true, ""
		})
	}
}

// annotatedPod is a pod of the seed's inject group in namespace ns.
func annotatedPod(ns string) *corev1.Pod {
	tmpl := story.Trainer(1).Spec.Template
	p := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	p.Namespace, p.GenerateName = ns, "probe-"
	return p
}

func podReady(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podReport lists every pod with its node, phase and readiness, and the
// warning events: what a failing wait shows.
func podReport(ctx context.Context, c *ground.Cluster) string {
	var b strings.Builder
	var pods corev1.PodList
	_ = c.Client.List(ctx, &pods)
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "\n  pod %s/%s node=%s phase=%s ready=%v", p.Namespace, p.Name, p.Spec.NodeName, p.Status.Phase, podReady(&p))
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil {
				fmt.Fprintf(&b, " [%s waiting: %s %s]", cs.Name, w.Reason, w.Message)
			}
			if tm := cs.LastTerminationState.Terminated; tm != nil {
				fmt.Fprintf(&b, " [%s last exit %d: %s]", cs.Name, tm.ExitCode, tm.Message)
			}
		}
	}
	var evs corev1.EventList
	_ = c.Client.List(ctx, &evs)
	for _, e := range evs.Items {
		if e.Type == corev1.EventTypeWarning {
			fmt.Fprintf(&b, "\n  event %s %s/%s: %s", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
		}
	}
	return b.String()
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func port(url string) string {
	return url[strings.LastIndex(url, ":")+1:]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
