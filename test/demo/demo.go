package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/test/draground"
	"github.com/railnet/railnet/test/simnode"
	"github.com/railnet/railnet/test/story"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
)

func demo(r *runner) {
	if os.Geteuid() != 0 {
		fail("run as root (sudo make demo): nodes are namespaces with their own kubelet and containerd")
	}
	start := time.Now()
	ctx := r.ctx
	logFile, err := os.CreateTemp("", "railnet-demo-components-*.log")
	if err != nil {
		r.Fatal(err)
	}
	r.Cleanup(func() { logFile.Close() })
	// In-process parts (clients) log with klog: to the file too.
	klog.LogToStderr(false)
	klog.SetOutput(logFile)
	fmt.Printf("railnet demo — components' logs: %s\n\n", logFile.Name())

	e := story.Up(r, story.Options{Nodes: 2, Coordinator: true, DRA: true, Log: os.Stdout, ComponentLog: logFile})
	c := e.Cluster.Client
	e.WaitNodesReady(ctx, r)
	step("Nodes: a real kubelet and containerd each, in their own network, mount and PID namespaces")
	kubectl(e, "get", "nodes", "-o", "wide")
	step("RDMA on each node (railnet's shared device plugin, registered with the node's kubelet)")
	tw := table("NODE", "RAILS-UP/RAILS", "MODE", "RDMA RESOURCES (allocatable)")
	for _, n := range e.Nodes {
		node, rn := &corev1.Node{}, &railnetv1.RDMANode{}
		_ = c.Get(ctx, client.ObjectKey{Name: n.Name}, node)
		_ = c.Get(ctx, client.ObjectKey{Name: n.Name}, rn)
		var res []string
		for _, name := range e.Resources {
			q := node.Status.Allocatable[corev1.ResourceName(name)]
			res = append(res, strings.TrimPrefix(name, "spidernet.io/")+"="+q.String())
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\n", n.Name, rn.Status.RailsUp, rn.Status.RailsTotal, rn.Status.NetnsMode, strings.Join(res, " "))
	}
	tw.Flush()

	step("Applying the seed guide's 8 SpiderIPPools and 8 SpiderMultusConfigs (annotated cni.spidernet.io/rdma-resource-inject: rdma-network)")
	if _, err := e.Cluster.Apply(ctx, story.SeedManifests()); err != nil {
		r.Fatalf("the seed's manifests were refused: %v", err)
	}
	for i := range 8 {
		name := fmt.Sprintf("gpu%d-macvlan", i+1)
		story.WaitFor(ctx, r, "NetworkAttachmentDefinition "+name, func() (bool, string) {
			err := c.Get(ctx, client.ObjectKey{Namespace: "spiderpool", Name: name}, &nadv1.NetworkAttachmentDefinition{})
			return err == nil, fmt.Sprint(err)
		})
	}
	fmt.Println("the webhook normalised the seed forms and rendered 8 NetworkAttachmentDefinitions")

	step("The seed's pools as the guide writes them (subnet 172.16.1N.0/16), checked with a server dry-run")
	seedPools := filepath.Join(r.TempDir(), "seed-pools.yaml")
	if err := os.WriteFile(seedPools, story.SeedPoolsAsWritten(), 0o644); err != nil {
		r.Fatal(err)
	}
	kubectl(e, "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", seedPools)
	fmt.Println("every 172.16.1N.0/16 is the network 172.16.0.0/16: as written, the 8 rails would share one subnet; " +
		"railnet applied each rail's /24 instead (172.16.11.0/24 … 172.16.18.0/24, as the seed's own pod output shows)")

	// The fixture nodes have no RDMA kernel: a stand-in adds each pod
	// address's RoCE GIDs to the node's GID tables, as the kernel does.
	e.StartRoCEKernel(ctx, r)

	step("Deploying the training job: 2 replicas, pod template annotated cni.spidernet.io/rdma-resource-inject: rdma-network")
	e.Cluster.EnsureNamespace(r, story.TrainNamespace)
	dep := story.Trainer(2)
	if err := c.Create(ctx, dep); err != nil {
		r.Fatal(err)
	}
	pods := e.WaitRunning(ctx, r, 2)
	fmt.Printf("what the webhook injected, as kubectl describe pod %s shows it (annotation railnet.io/injection):\n    %s\n",
		pods[0].Name, pods[0].Annotations[inject.AnnotationSummary])
	printPods(r, e, pods)

	step(fmt.Sprintf("Inside pod %s: policy routing per rail (the seed's step 2) and the pod's NCCL conf file, read through kubectl exec", pods[0].Name))
	for _, args := range [][]string{{"ip", "rule"}, {"ip", "route", "show", "table", "100"}, {"ip", "route", "show", "table", "main"}, {"ls", "/dev/infiniband"},
		{"cat", "/run/railnet/nccl/nccl.conf"}} {
		kubectl(e, append([]string{"-n", story.TrainNamespace, "exec", pods[0].Name, "--"}, args...)...)
	}

	down := e.Nodes[0]
	step(fmt.Sprintf("Taking the third rail (index 2: %s, gpu3's NIC) of %s down", simnode.SeedRails()[2].Master, down.Name))
	if err := down.SetRail(2, false); err != nil {
		r.Fatal(err)
	}
	e.WaitRailDown(ctx, r, down.Name, 2)
	rn := &railnetv1.RDMANode{}
	_ = c.Get(ctx, client.ObjectKey{Name: down.Name}, rn)
	fmt.Printf("RDMANode %s: rails up %d/%d; Node label %s=%s\n", down.Name, rn.Status.RailsUp, rn.Status.RailsTotal,
		railnetv1.RailLabel(2), railnetv1.RailDown)

	step("Scaling the job to 3: where does the next pod go?")
	before := map[string]bool{}
	for _, p := range pods {
		before[p.Name] = true
	}
	e.Scale(ctx, r, dep, 3)
	all := e.WaitRunning(ctx, r, 3)
	var next corev1.Pod
	for _, p := range all {
		if !before[p.Name] {
			next = p
		}
	}
	fmt.Printf("pod %s → %s\n", next.Name, next.Spec.NodeName)
	fmt.Println("the extender's verdict for that pod on every node:")
	explain(r, e, next)

	draAct(r, e)

	fmt.Printf("\ndone in %s; stopping everything\n", time.Since(start).Round(time.Second))
}

// draAct shows DRA mode: a second inject group opts in, and a pod asking
// for 2 GPUs gets the 2 rails whose NICs share a PCIe root with them.
func draAct(r *runner, e *story.Env) {
	ctx := r.ctx
	step(fmt.Sprintf("DRA mode: inject group %s (the same 8 rails, SpiderMultusConfigs annotated railnet.io/inject-mode: dra)", story.DRAGroup))
	e.ApplyDRAGroup(ctx, r)
	fmt.Printf("railnet rendered NetworkAttachmentDefinition spiderpool/%s and keeps ResourceClaimTemplates %s … %s in namespace %s\n",
		drainject.NetworkName(story.DRAGroup), drainject.TemplateName(story.DRAGroup, 1), drainject.TemplateName(story.DRAGroup, drainject.MaxGPUs), story.DRANamespace)
	fmt.Println("fixture topology: GPU i and rail i's NIC share a PCIe root complex, two of each per root:")
	tw := table("ROOT", "GPUS", "RAILS (NIC)")
	for i := 0; i < len(draground.FixtureRoots); i += 2 {
		fmt.Fprintf(tw, "%s\tgpu-%d gpu-%d\trail-%d (%s) rail-%d (%s)\n", draground.FixtureRoots[i], i, i+1,
			i, simnode.SeedRails()[i].Master, i+1, simnode.SeedRails()[i+1].Master)
	}
	tw.Flush()

	step("A pod asking for 2 GPUs (nvidia.com/gpu: 2), annotated cni.spidernet.io/rdma-resource-inject: " + story.DRAGroup)
	pod, claim := e.RunDRAPod(ctx, r, "dra-trainer", 2)
	fmt.Printf("pod %s/%s → %s\n%s: %s\n", pod.Namespace, pod.Name, pod.Spec.NodeName, inject.AnnotationSummary, pod.Annotations[inject.AnnotationSummary])
	gpus, rails := draground.Allocated(claim)
	fmt.Printf("the scheduler's DRA allocator filled ResourceClaim %s:\n", claim.Name)
	tw = table("GPU", "ROOT", "RAIL", "NIC", "ROOT", "IFACE")
	for i := range max(len(gpus), len(rails)) {
		g, rl := "", ""
		groot, rroot, nic, iface := "", "", "", ""
		if i < len(gpus) {
			g, groot = fmt.Sprintf("gpu-%d", gpus[i]), draground.FixtureRoots[gpus[i]]
		}
		if i < len(rails) {
			rl, rroot = fmt.Sprintf("rail-%d", rails[i]), draground.FixtureRoots[rails[i]]
			nic, iface = simnode.SeedRails()[rails[i]].Master, fmt.Sprintf("net%d", rails[i]+1)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", g, groot, rl, nic, rroot, iface)
	}
	tw.Flush()
	step(fmt.Sprintf("Inside pod %s: exactly its 2 claimed rails (railnet-dra-cni, run by Multus for the group's network)", pod.Name))
	kubectl(e, "-n", story.DRANamespace, "exec", pod.Name, "--", "ip", "-o", "-4", "addr", "show")
	kubectl(e, "-n", story.DRANamespace, "exec", pod.Name, "--", "ip", "rule")
}

func step(title string) { fmt.Printf("\n== %s\n", title) }

func table(cols ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	return tw
}

// printPods shows pod → node → netN → IP → RDMA device → routing table.
func printPods(r *runner, e *story.Env, pods []corev1.Pod) {
	tw := table("POD", "NODE", "IFACE", "IP", "MASTER", "RDMA DEVICE", "TABLE")
	for _, p := range pods {
		rn := &railnetv1.RDMANode{}
		_ = e.Cluster.Client.Get(r.ctx, client.ObjectKey{Name: p.Spec.NodeName}, rn)
		rdma := map[string]string{}
		for _, nic := range rn.Status.NICs {
			rdma[nic.Netdev] = nic.RDMADevice
		}
		var st []nadv1.NetworkStatus
		_ = json.Unmarshal([]byte(p.Annotations[nadv1.NetworkStatusAnnot]), &st)
		sort.Slice(st, func(i, j int) bool { return st[i].Interface < st[j].Interface })
		for _, s := range st {
			if !strings.HasPrefix(s.Interface, "net") {
				continue
			}
			var n int
			fmt.Sscanf(s.Interface, "net%d", &n)
			master := simnode.SeedRails()[n-1].Master
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", p.Name, p.Spec.NodeName, s.Interface,
				strings.Join(s.IPs, ","), master, rdma[master], 99+n)
		}
	}
	tw.Flush()
}

// kubectl runs the machine's kubectl against the story's cluster and prints
// the command and its output; without a kubectl on PATH it says so.
func kubectl(e *story.Env, args ...string) {
	fmt.Printf("$ kubectl %s\n", strings.Join(args, " "))
	path, err := exec.LookPath("kubectl")
	if err != nil {
		fmt.Println("    (kubectl is not installed on this machine)")
		return
	}
	cmd := exec.Command(path, append([]string{"--kubeconfig", e.Cluster.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Printf("    (kubectl failed: %v)\n", err)
	}
	fmt.Print(indent(string(out)))
}

// explain asks the extender's filter verb about the pod on every node, as
// the scheduler does, and prints its answer.
func explain(r *runner, e *story.Env, pod corev1.Pod) {
	var names []string
	for _, n := range e.Nodes {
		names = append(names, n.Name)
	}
	body, _ := json.Marshal(map[string]any{"Pod": pod, "NodeNames": names})
	resp, err := http.Post(e.ExtenderURL+"/filter", "application/json", bytes.NewReader(body))
	if err != nil {
		r.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		NodeNames                  []string
		FailedNodes                map[string]string
		FailedAndUnresolvableNodes map[string]string
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		r.Fatal(err)
	}
	for _, n := range res.NodeNames {
		fmt.Printf("  %s: passes\n", n)
	}
	for n, why := range res.FailedAndUnresolvableNodes {
		fmt.Printf("  %s: refused (unresolvable): %s\n", n, why)
	}
	for n, why := range res.FailedNodes {
		fmt.Printf("  %s: refused (retryable): %s\n", n, why)
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}
