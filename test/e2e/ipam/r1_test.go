package ipam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/testutils"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// R1 at full scale, through the real path: N CNI ADDs (railnet-ipam, exec'd
// as a runtime execs it) to the IPAM sockets of A railnet-agent processes,
// each acting as the chart's node-agent ServiceAccount with its node's token
// claim under the chart's RBAC and ValidatingAdmissionPolicy, on one
// 256-address pool. While the ADDs run, agents are SIGKILLed with ADDs in
// flight and restarted, as a DaemonSet restarts them; the runtime answers a
// failed ADD with a DEL (which must succeed, agent up or down) and a new
// sandbox. Every pod ends with an address or a "no free address" error
// naming the pool; no address goes to two pods; the API server holds exactly
// the addresses handed out; once the pods are deleted the agents' collectors
// release every one of them.
//
// RAILNET_R1_ADDS and RAILNET_R1_AGENTS scale it down for a quick run; CI
// runs the 2,000 ADDs from 20 agents.
func TestR1NoDuplicateNoLeakThroughKilledAgents(t *testing.T) {
	adds, agents := envInt(t, "RAILNET_R1_ADDS", 2000), envInt(t, "RAILNET_R1_AGENTS", 20)
	const poolSize, workersPerAgent, kills = 256, 3, 5
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()

	bins := ground.BuildCommandsT(t, "./nodeagent/cmd/railnet-agent", "./nodeagent/cmd/railnet-ipam")
	applyAgentPolicy(ctx, t)
	pool := createPool(ctx, t, "r1-pool", "10.30.0.0/24", []string{"10.30.0.0-10.30.0.255"}, "")
	cluster.EnsureNamespace(t, "r1")
	nodes := make([]string, agents)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("r1-node-%02d", i)
		cluster.CreateNode(t, ground.NodeSpec{Name: nodes[i]})
	}
	pods := createPods(ctx, t, "r1", nodes, adds)
	t.Cleanup(func() { deletePods(context.Background(), t, "r1") })

	dir, err := os.MkdirTemp("", "r1-") // short: unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ags := make([]*r1Agent, agents)
	for i, n := range nodes {
		ags[i] = newR1Agent(t, bins, dir, n)
		ags[i].start(ctx, t)
	}
	for _, a := range ags {
		waitSocket(t, a.sock)
	}
	setup := time.Since(start)

	podNS, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = podNS.Close(); _ = testutils.UnmountNS(podNS) })
	plugin := &cniPlugin{bin: filepath.Join(bins, "railnet-ipam"), netns: podNS.Path(), pool: pool.Name}

	// The runtime: per agent a few sandboxes at a time; a failed ADD is
	// cleaned up with DEL and retried with a new sandbox until it gets an
	// address or a refusal.
	type outcome struct {
		pod      *corev1.Pod
		ip, err  string
		attempts int
	}
	var answered, retried, inFlightAtKills atomic.Int64
	outcomes := make([]outcome, len(pods))
	exhausted := regexp.MustCompile(`SpiderIPPool r1-pool has no free address: \d+ of 256 in use`)
	runStart := time.Now()
	var wg sync.WaitGroup
	for ai, a := range ags {
		for w := range workersPerAgent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for pi := ai + w*agents; pi < len(pods); pi += agents * workersPerAgent {
					p := pods[pi]
					o := outcome{pod: p}
					for ctx.Err() == nil {
						o.attempts++
						sandbox := fmt.Sprintf("sandbox-%s-%d", p.UID, o.attempts)
						a.inFlight.Add(1)
						res, cniErr := plugin.run(ctx, a.sock, "ADD", p, sandbox)
						a.inFlight.Add(-1)
						if cniErr == "" {
							o.ip, o.err = res, ""
							break
						}
						if exhausted.MatchString(cniErr) {
							o.err = cniErr
							break
						}
						if !strings.Contains(cniErr, "railnet IPAM service") {
							o.err = cniErr // neither an answer nor the agent being down
							break
						}
						retried.Add(1)
						if _, delErr := plugin.run(ctx, a.sock, "DEL", p, sandbox); delErr != "" {
							t.Errorf("DEL of pod %s sandbox %s after a failed ADD: %s", p.Name, sandbox, delErr)
						}
						time.Sleep(200 * time.Millisecond)
					}
					outcomes[pi] = o
					answered.Add(1)
				}
			}()
		}
	}

	// The killer: at evenly spaced points of the run, SIGKILL the agent with
	// the most ADDs in flight and restart it half a second later.
	killed := map[string]bool{}
	for k := 1; k <= kills; k++ {
		target := int64(k * len(pods) / (2 * kills))
		for answered.Load() < target && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		var victim *r1Agent
		for victim == nil && ctx.Err() == nil && answered.Load() < int64(len(pods)) {
			for _, a := range ags {
				if !killed[a.node] && a.inFlight.Load() > 0 && (victim == nil || a.inFlight.Load() > victim.inFlight.Load()) {
					victim = a
				}
			}
			if victim == nil {
				time.Sleep(time.Millisecond)
			}
		}
		if victim == nil {
			t.Fatalf("no agent with an ADD in flight to kill (kill %d of %d)", k, kills)
		}
		killed[victim.node] = true
		inFlightAtKills.Add(victim.inFlight.Load())
		_ = victim.cmd.Process.Signal(syscall.SIGKILL)
		<-victim.exited
		time.Sleep(500 * time.Millisecond) // the DaemonSet's restart
		victim.start(ctx, t)
	}
	wg.Wait()
	run := time.Since(runStart)

	ips := map[string]string{} // ip → pod
	var ok, refused int
	for _, o := range outcomes {
		switch {
		case o.ip != "":
			if other, dup := ips[o.ip]; dup {
				t.Errorf("address %s went to pod %s and pod %s", o.ip, other, o.pod.Name)
			}
			ips[o.ip] = o.pod.Name
			ok++
		case exhausted.MatchString(o.err):
			refused++
		default:
			t.Errorf("pod %s: ADD failed with %q, want an address or the pool's exhaustion", o.pod.Name, o.err)
		}
	}
	if ok > poolSize || ok+refused != len(pods) {
		t.Errorf("%d ADDs got an address and %d were refused as exhausted, of %d; want at most %d addresses", ok, refused, len(pods), poolSize)
	}
	var list railnetv1.IPAllocationList
	if err := cluster.Client.List(ctx, &list, client.MatchingLabels{railnetv1.LabelPool: pool.Name}); err != nil {
		t.Fatal(err)
	}
	held := map[string]string{}
	for _, a := range list.Items {
		held[a.Spec.IP] = a.Spec.PodName
	}
	for ip, pod := range held {
		if ips[ip] != pod {
			t.Errorf("IPAllocation of %s is held by pod %s, whose ADD got %q: a leak", ip, pod, ips[ip])
		}
	}
	for ip, pod := range ips {
		if held[ip] != pod {
			t.Errorf("pod %s got %s but the API server records it for %q", pod, ip, held[ip])
		}
	}

	// The pods end (force-deleted, no DEL ever comes): collection frees all.
	collectStart := time.Now()
	deletePods(ctx, t, "r1")
	if err := poll.Wait(ctx, 5*time.Minute, "every address released after the pods are gone", func() error {
		if left := allocations(ctx, t, pool.Name); len(left) > 0 {
			return fmt.Errorf("%d addresses still allocated: %v", len(left), left)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	t.Logf("R1: %d CNI ADDs from %d agents (railnet-agent processes, chart RBAC + node policy) on a %d-address pool in %s: "+
		"%d got an address, %d refused as exhausted, 0 other failures; %d agents SIGKILLed with %d ADDs in flight, %d ADDs retried after DEL; "+
		"duplicates 0, API server holds exactly the %d addresses handed out; all released %s after the pods were deleted (leaks 0). "+
		"Setup %s, total %s",
		len(pods), agents, poolSize, run.Round(time.Millisecond), ok, refused, len(killed), inFlightAtKills.Load(), retried.Load(),
		len(held), time.Since(collectStart).Round(time.Second), setup.Round(time.Second), time.Since(start).Round(time.Second))
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// r1Agent is one node's railnet-agent process, restartable.
type r1Agent struct {
	bins, node, sock, kubeconfig, kubeletRoot, log string
	cmd                                            *exec.Cmd
	exited                                         <-chan struct{}
	inFlight                                       atomic.Int64
}

// newR1Agent writes the node's kubeconfig: the chart's node-agent
// ServiceAccount with the node claim its pod's token would carry.
func newR1Agent(t *testing.T, bins, dir, node string) *r1Agent {
	t.Helper()
	a := &r1Agent{bins: bins, node: node, sock: filepath.Join(dir, node+".sock"),
		kubeconfig: filepath.Join(dir, node+".kubeconfig"), kubeletRoot: filepath.Join(dir, node+"-kubelet"),
		log: filepath.Join(dir, node+".log")}
	auth := cluster.AdminAuth()
	auth.Impersonate = fmt.Sprintf("system:serviceaccount:%s:%s-node-agent", ground.ChartNamespace, ground.ChartRelease)
	auth.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ground.ChartNamespace, "system:authenticated"}
	auth.ImpersonateUserExtra = map[string][]string{nodeClaim: {node}}
	if err := cluster.WriteKubeconfig(a.kubeconfig, "", auth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(a.log)
			t.Logf("agent %s log (tail):\n%s", node, tail(string(b), 15))
		}
	})
	return a
}

// nodeClaim is the extra a pod-bound service account token carries.
const nodeClaim = "authentication.kubernetes.io/node-name"

func (a *r1Agent) start(ctx context.Context, t *testing.T) {
	logf, err := os.OpenFile(a.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Error(err)
		return
	}
	cmd := exec.CommandContext(ctx, filepath.Join(a.bins, "railnet-agent"),
		"--node-name="+a.node, "--kubeconfig="+a.kubeconfig, "--sysfs-root="+discoverytest.Fixture("rail8"),
		"--rdma-netns-mode=shared", "--rdma-metrics=false", "--kubelet-root="+a.kubeletRoot,
		"--ipam-socket="+a.sock, "--ipam-lease-namespace="+ground.ChartNamespace, "--ipam-gc-grace=1s",
		"--discovery-interval=30s")
	cmd.Stdout, cmd.Stderr = logf, logf
	a.cmd = cmd
	a.exited = ground.StartCommand(t, cmd, 10*time.Second)
	go func() { <-a.exited; logf.Close() }()
}

// cniPlugin runs railnet-ipam as a container runtime runs it.
type cniPlugin struct{ bin, netns, pool string }

// run returns the ADD's address, or the CNI error message ("" on success).
func (c *cniPlugin) run(ctx context.Context, sock, command string, p *corev1.Pod, sandbox string) (ip, cniErr string) {
	conf := `{"cniVersion":"1.0.0","name":"r1","type":"macvlan","ipam":{"type":"railnet-ipam","ippools":{"ipv4":["` + c.pool + `"]}}}`
	cmd := exec.CommandContext(ctx, c.bin)
	cmd.Stdin = strings.NewReader(conf)
	cmd.Env = append(os.Environ(), "CNI_COMMAND="+command, "CNI_CONTAINERID="+sandbox, "CNI_NETNS="+c.netns,
		"CNI_IFNAME=net1", "CNI_PATH="+filepath.Dir(c.bin), "RAILNET_IPAM_SOCKET="+sock,
		"CNI_ARGS=IgnoreUnknown=true;K8S_POD_NAMESPACE="+p.Namespace+";K8S_POD_NAME="+p.Name+";K8S_POD_UID="+string(p.UID))
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		var e struct {
			Msg     string `json:"msg"`
			Details string `json:"details"`
		}
		if json.Unmarshal(out.Bytes(), &e) != nil || e.Msg == "" {
			return "", fmt.Sprintf("%s: %v: %s", command, err, out.String())
		}
		return "", strings.TrimSpace(e.Msg + " " + e.Details)
	}
	if command != "ADD" {
		return "", ""
	}
	var res struct {
		IPs []struct{ Address string } `json:"ips"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.IPs) != 1 {
		return "", fmt.Sprintf("ADD result %s: %v", out.String(), err)
	}
	return strings.Split(res.IPs[0].Address, "/")[0], ""
}

// createPods makes n pods bound round-robin to nodes (no kubelet runs them).
func createPods(ctx context.Context, t *testing.T, ns string, nodes []string, n int) []*corev1.Pod {
	t.Helper()
	pods := make([]*corev1.Pod, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("trainer-%04d", i), Namespace: ns},
					Spec: corev1.PodSpec{NodeName: nodes[i%len(nodes)], Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
				if err := cluster.Client.Create(ctx, p); err != nil {
					failed.Store(err)
					return
				}
				pods[i] = p
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("create pods: %v", err)
	}
	return pods
}

// deletePods force-deletes the namespace's pods, as a node's loss does.
func deletePods(ctx context.Context, t *testing.T, ns string) {
	if err := cluster.Client.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.GracePeriodSeconds(0)); err != nil {
		t.Errorf("delete the pods of %s: %v", ns, err)
	}
}

// applyAgentPolicy applies the chart's node-agent ValidatingAdmissionPolicy
// (what ChartRBAC leaves out) until the test ends, and waits until it is
// enforced. Other tests act as the agent without a node claim, so it goes
// again at the end.
func applyAgentPolicy(ctx context.Context, t *testing.T) {
	t.Helper()
	chart, err := ground.ChartDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ground.Helm(ctx, "template", ground.ChartRelease, chart, "--namespace", ground.ChartNamespace,
		"--show-only", "templates/nodeagent_policy.yaml")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	if _, err := cluster.Apply(ctx, out); err != nil {
		t.Fatal(err)
	}
	name := ground.ChartRelease + "-node-agent-own-node"
	noClaim, err := client.New(cluster.As("node-agent"), client.Options{Scheme: cluster.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	probe := func(ctx context.Context) error {
		rn := &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: "r1-policy-probe"}}
		err := noClaim.Create(ctx, rn)
		if err == nil {
			_ = cluster.Client.Delete(ctx, rn)
		}
		return err
	}
	poll.Until(t, time.Minute, "the node-agent policy enforced", func() error {
		if probe(ctx) == nil {
			return errors.New("a credential without a node claim still creates RDMANodes")
		}
		return nil
	})
	t.Cleanup(func() {
		bg := context.Background()
		_ = cluster.Client.Delete(bg, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}})
		_ = cluster.Client.Delete(bg, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}})
		if err := poll.Wait(bg, 30*time.Second, "the node-agent policy gone after its deletion", func() error {
			if err := probe(bg); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
