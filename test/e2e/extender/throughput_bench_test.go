package extender

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/test/cputime"
	"github.com/railnet/railnet/test/ground"
)

const (
	// schedulerGoal is issue 16's goal: railnet-scheduler binds at least
	// this share of the plain scheduler's pods/s.
	schedulerGoal = 0.85
	benchResource = "spidernet.io/e2e_bench"
	benchPods     = 300
	benchNS       = "e2e-bench"
)

// benchNodes is how many nodes the throughput benchmark makes: 1,000, or
// RAILNET_BENCH_NODES.
var benchNodes = func() int {
	if n, err := strconv.Atoi(os.Getenv("RAILNET_BENCH_NODES")); err == nil && n > 0 {
		return n
	}
	return 1000
}()

// benchRuns counts BenchmarkSchedulerThroughput's runs.
var benchRuns atomic.Int64

// BenchmarkSchedulerThroughput measures the real kube-scheduler binding
// benchPods RDMA pods on benchNodes simulated nodes, all on the package's
// cluster (same apiserver, nodes and RDMANodes), and prints pods/s of:
//   - the scheduler with the railnet extender (the cluster's own, which
//     scores every feasible node: percentageOfNodesToScore 100, as the
//     chart configures it);
//   - a plain kube-scheduler, no extender, also at 100% (like with like);
//   - railnet-scheduler (kube-scheduler v1.37 with the RailnetPlacement
//     plugin: the extender's filter and score in process) at 100%;
//   - a plain kube-scheduler and railnet-scheduler at kube-scheduler's
//     default (adaptive) percentage, what a cluster without railnet runs.
//
// The ratios to the plain runs are printed side by side.
func BenchmarkSchedulerThroughput(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	if err := setupBench(ctx, cluster); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { teardownBench(cluster) })
	dflt := int32(0) // kube-scheduler's adaptive percentage
	plain100, err := cluster.StartScheduler(ctx, ground.SchedulerSpec{Name: "plain-100"})
	if err != nil {
		b.Fatal(err)
	}
	defer plain100.Stop()
	plainDflt, err := cluster.StartScheduler(ctx, ground.SchedulerSpec{Name: "plain-default", PercentageOfNodesToScore: &dflt})
	if err != nil {
		b.Fatal(err)
	}
	defer plainDflt.Stop()
	startRailnetScheduler(ctx, b, "railnet-100", nil)
	startRailnetScheduler(ctx, b, "railnet-default", &dflt)
	run := benchRuns.Add(1) // rounds of another run (-count 2) are named apart
	// Each round's scheduler is profiled (all alike, so the ratios stay
	// fair); RAILNET_BENCH_SCHEDULER_PROFILES keeps the last run's profiles.
	profiles := os.Getenv("RAILNET_BENCH_SCHEDULER_PROFILES")
	if profiles == "" {
		profiles = b.TempDir()
	}
	b.ResetTimer()
	for i := range b.N {
		cpu := map[string]time.Duration{} // scheduler CPU per bound pod
		batched := map[string]string{}    // pods placed on a batch hint, of attempts
		round := func(scheduler, prefix string) float64 {
			file := scheduler
			if file == "" {
				file = "kube-scheduler-extender"
			}
			used0, all0 := batchAttempts(ctx, b, cluster, scheduler)
			rate, perPod := throughput(ctx, b, cluster, scheduler, fmt.Sprintf("%s%d-%d", prefix, run, i), filepath.Join(profiles, file+".pprof"))
			cpu[scheduler] = perPod
			used, all := batchAttempts(ctx, b, cluster, scheduler)
			batched[scheduler] = fmt.Sprintf("%d/%d", used-used0, all-all0)
			return rate
		}
		with := round("", "r")
		same := round("plain-100", "p")
		plug := round("railnet-100", "q")
		plainD := round("plain-default", "d")
		plugD := round("railnet-default", "e")
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		cpuRatio := func(a, b string) float64 { return float64(cpu[a]) / float64(cpu[b]) }
		b.ReportMetric(cpuRatio("railnet-100", "plain-100"), "x-plugin-plain-cpu-100pct")
		b.ReportMetric(cpuRatio("railnet-default", "plain-default"), "x-plugin-plain-cpu-default")
		b.ReportMetric(with, "pods/s-extender")
		b.ReportMetric(same, "pods/s-plain-100pct")
		b.ReportMetric(plug, "pods/s-plugin-100pct")
		b.ReportMetric(plainD, "pods/s-plain-default")
		b.ReportMetric(plugD, "pods/s-plugin-default")
		b.ReportMetric(with/same, "x-extender-plain-100pct")
		b.ReportMetric(plug/same, "x-plugin-plain-100pct")
		b.ReportMetric(plugD/plainD, "x-plugin-plain-default")
		fmt.Printf("scheduler throughput, %d pods on %d nodes (pods/s; ratio to plain kube-scheduler at the same percentage):\n", benchPods, benchNodes)
		fmt.Printf("  100%% of nodes scored:  plain %.1f | extender %.1f (%.2fx) | railnet-scheduler plugin %.1f (%.2fx)\n", same, with, with/same, plug, plug/same)
		fmt.Printf("  default percentage:   plain %.1f | railnet-scheduler plugin %.1f (%.2fx) | extender at 100%% vs this plain %.2fx\n", plainD, plugD, plugD/plainD, with/plainD)
		fmt.Printf("  scheduler CPU per bound pod (ms; the process's whole round, load on the machine aside):\n")
		fmt.Printf("    100%%: plain %.2f | with the extender %.2f (%.2fx; the extender's own CPU not counted) | railnet-scheduler %.2f (%.2fx)\n",
			ms(cpu["plain-100"]), ms(cpu[""]), cpuRatio("", "plain-100"), ms(cpu["railnet-100"]), cpuRatio("railnet-100", "plain-100"))
		fmt.Printf("    default percentage: plain %.2f | railnet-scheduler %.2f (%.2fx)\n",
			ms(cpu["plain-default"]), ms(cpu["railnet-default"]), cpuRatio("railnet-default", "plain-default"))
		fmt.Printf("  pods placed on a batch hint / batch attempts (OpportunisticBatching): 100%%: plain %s | with the extender %s | railnet-scheduler %s; default: plain %s | railnet-scheduler %s\n",
			batched["plain-100"], batched[""], batched["railnet-100"], batched["plain-default"], batched["railnet-default"])
		for _, r := range []struct {
			pct, railnet, plain string
			ratio               float64
		}{{"100%", "railnet-100", "plain-100", plug / same}, {"the default percentage", "railnet-default", "plain-default", plugD / plainD}} {
			if r.ratio >= schedulerGoal {
				fmt.Printf("  goal %.2fx met at %d nodes, %s scored\n", schedulerGoal, benchNodes, r.pct)
				continue
			}
			fmt.Printf("  goal %.2fx not met at %d nodes, %s scored;\n", schedulerGoal, benchNodes, r.pct)
			printProfile(r.railnet, filepath.Join(profiles, r.railnet+".pprof"))
			printProfile(r.plain, filepath.Join(profiles, r.plain+".pprof"))
		}
	}
}

// setupBench creates the nodes (and, for the extender, their RDMANodes and
// the rail network) in parallel. What a former run (-count 2) left, its
// pool and config, is reused.
func setupBench(ctx context.Context, c *ground.Cluster) error {
	if err := c.AddNamespace(ctx, benchNS); err != nil {
		return err
	}
	gw := "10.20.255.254"
	pool := &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: "e2e-bench-net"},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: "10.20.0.0/16", IPs: []string{"10.20.0.1-10.20.255.253"}, Gateway: &gw}}
	smc := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: "gpu1-macvlan"}}
	smc.Spec.Macvlan = &spiderv2beta1.MacvlanConfig{Master: []string{"eth1"}, RDMAResourceName: benchResource,
		IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{pool.Name}}}
	for _, o := range []client.Object{pool, smc} {
		if err := c.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s: %w", o.GetName(), err)
		}
	}
	return parallel(benchNodes, 8, func(i int) error {
		name := fmt.Sprintf("bench-%05d", i)
		if _, err := c.AddNode(ctx, ground.NodeSpec{Name: name,
			Allocatable: corev1.ResourceList{benchResource: resource.MustParse("100")},
			Labels:      map[string]string{"network.topology.nvidia.com/block": fmt.Sprintf("b%d", i/32)}}); err != nil {
			return err
		}
		rn := &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := c.Client.Create(ctx, rn); err != nil {
			return fmt.Errorf("create RDMANode %s: %w", name, err)
		}
		now := metav1.Now()
		rn.Status = railnetv1.RDMANodeStatus{NetnsMode: "shared", HeartbeatTime: &now, RailsTotal: 1, RailsUp: 1,
			NICs: []railnetv1.NIC{{Netdev: "eth1", RDMADevice: "mlx5_1", Port: 1, PortState: "ACTIVE", LinkState: "up",
				Rail: ptr(int32(0)), GIDTableSize: 256, GPUDistance: railnetv1.DistancePIX}}}
		if err := c.Client.Status().Update(ctx, rn); err != nil {
			return fmt.Errorf("report RDMANode %s: %w", name, err)
		}
		return nil
	})
}

func teardownBench(c *ground.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = c.Client.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(benchNS), client.GracePeriodSeconds(0))
	_ = c.Client.DeleteAllOf(ctx, &railnetv1.IPAllocation{}, client.MatchingLabels{benchAllocLabel: "true"})
	_ = parallel(benchNodes, 8, func(i int) error {
		name := fmt.Sprintf("bench-%05d", i)
		_ = c.Client.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
		_ = c.Client.Delete(ctx, &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: name}})
		return nil
	})
}

// throughput creates benchPods pods for scheduler (the cluster's own when
// "") and returns pods bound per second, from the first create to the last
// binding, and the CPU time the scheduler's process used over the round
// per pod bound (what a loaded machine changes least), up to the last of
// the pods' IPAllocations, made as the IPAM would as the pods are bound.
// The scheduler's CPU profile of the round's first 10 s is written to
// profile.
func throughput(ctx context.Context, b *testing.B, c *ground.Cluster, scheduler, round, profile string) (float64, time.Duration) {
	b.Helper()
	proc := scheduler
	if proc == "" {
		proc = "kube-scheduler"
	}
	pid, ok := c.PIDs()[proc]
	if !ok {
		b.Fatalf("no process %s in the ground", proc)
	}
	cpu := func() time.Duration {
		d, err := cputime.Of(pid)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	cpu0 := cpu()
	profiled := make(chan struct{})
	go func() {
		defer close(profiled)
		profileScheduler(ctx, b, c, scheduler, profile)
	}()
	defer func() { <-profiled }()
	// A watch, not a polling List: the benchmark's process also runs the
	// extender, whose answers must not wait behind decoding the round's
	// pods ten times a second.
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		b.Fatal(err)
	}
	w, err := cs.CoreV1().Pods(benchNS).Watch(ctx, metav1.ListOptions{LabelSelector: "round=" + round})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { w.Stop() }()
	start := time.Now()
	err = parallel(benchPods, 8, func(i int) error {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: benchNS, Name: fmt.Sprintf("%s-w%03d", round, i),
				Labels:      map[string]string{"round": round, "railnet.io/job": round},
				Annotations: map[string]string{"k8s.v1.cni.cncf.io/networks": benchNS + "/gpu1-macvlan"}},
			Spec: corev1.PodSpec{SchedulerName: scheduler, Containers: []corev1.Container{{Name: "c", Image: "rdma-tools",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{benchResource: resource.MustParse("1")}}}}},
		}
		return c.Client.Create(ctx, p)
	})
	if err != nil {
		b.Fatal(err)
	}
	// Each pod bound gets its address, as railnet's IPAM would once its
	// sandbox comes up: the schedulers that read the pools (the extender,
	// railnet-scheduler) see the IPAllocations come during the round, as
	// on a real cluster, and work the pool's room out again after each.
	allocs := make(chan *corev1.Pod, benchPods)
	var allocating sync.WaitGroup
	for range 4 {
		allocating.Go(func() {
			for p := range allocs {
				if err := allocateBench(ctx, c, p); err != nil {
					b.Error(err)
				}
			}
		})
	}
	allocated := sync.OnceFunc(func() { close(allocs); allocating.Wait() })
	defer allocated()
	bound := map[string]bool{}
	markBound := func(p *corev1.Pod) {
		if p.Spec.NodeName != "" && !bound[p.Name] {
			bound[p.Name] = true
			allocs <- p
		}
	}
	for len(bound) < benchPods {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				// The apiserver ends watches after a while; long rounds
				// (5,000 nodes) outlive one. Catch up with a list and
				// watch on from it.
				l, err := cs.CoreV1().Pods(benchNS).List(ctx, metav1.ListOptions{LabelSelector: "round=" + round})
				if err != nil {
					b.Fatalf("watch of round %s ended with %d of %d pods bound; list: %v", round, len(bound), benchPods, err)
				}
				for i := range l.Items {
					markBound(&l.Items[i])
				}
				if w, err = cs.CoreV1().Pods(benchNS).Watch(ctx, metav1.ListOptions{LabelSelector: "round=" + round, ResourceVersion: l.ResourceVersion}); err != nil {
					b.Fatalf("watch round %s again: %v", round, err)
				}
				continue
			}
			if p, isPod := ev.Object.(*corev1.Pod); isPod {
				markBound(p)
			}
		case <-ctx.Done():
			b.Fatalf("only %d of %d pods bound: %v\nscheduler log:\n%s", len(bound), benchPods, ctx.Err(), c.Logs("kube-scheduler", 20))
		}
	}
	rate := float64(benchPods) / time.Since(start).Seconds()
	allocated() // the scheduler's CPU counts its handling of every allocation
	return rate, (cpu() - cpu0) / benchPods
}

// benchAddrs numbers the addresses the bench's IPAllocations take, across
// rounds and runs of one process.
var benchAddrs atomic.Int32

// benchAllocLabel marks the bench's IPAllocations, for the teardown.
const benchAllocLabel = "railnet.io/e2e-bench"

// allocateBench records an address of the bench's pool for pod, as the
// IPAM does.
func allocateBench(ctx context.Context, c *ground.Cluster, p *corev1.Pod) error {
	n := benchAddrs.Add(1)
	ip := fmt.Sprintf("10.20.%d.%d", n/250, 1+n%250)
	a := &railnetv1.IPAllocation{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-bench-net." + strings.ReplaceAll(ip, ".", "-"),
			Labels: map[string]string{railnetv1.LabelPool: "e2e-bench-net", railnetv1.LabelNode: p.Spec.NodeName, benchAllocLabel: "true"}},
		Spec: railnetv1.IPAllocationSpec{Pool: "e2e-bench-net", IP: ip, PodNamespace: p.Namespace, PodName: p.Name,
			PodUID: string(p.UID), Interface: "net1", Node: p.Spec.NodeName},
	}
	if err := c.Client.Create(ctx, a); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("allocate %s for %s: %w", ip, p.Name, err)
	}
	return nil
}

// printProfile prints the top entries of a scheduler's CPU profile (by
// cumulative time: which plugin, which framework step), when a goal is not
// met, so the benchmark's output says where the time goes.
func printProfile(what, file string) {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=30", file).CombinedOutput()
	if err != nil {
		fmt.Printf("  (no profile of %s: %v)\n", what, err)
		return
	}
	fmt.Printf("  where the CPU of scheduler %s goes (%d s profile from the round's start, top 30 by cumulative time):\n%s", what, profileSeconds, out)
}

// profileSeconds is how long profileScheduler profiles: 10 s, or
// RAILNET_BENCH_PROFILE_SECONDS (a round at the default percentage on
// 5,000 nodes ends before 10 s, and its profile with it).
var profileSeconds = func() int {
	if n, err := strconv.Atoi(os.Getenv("RAILNET_BENCH_PROFILE_SECONDS")); err == nil && n > 0 {
		return n
	}
	return 10
}()

// profileScheduler writes a CPU profile (profileSeconds long) of the
// cluster's scheduler (named scheduler, the cluster's own when "") to
// file: where a scheduling cycle spends its time, with and without the
// extender.
func profileScheduler(ctx context.Context, b *testing.B, c *ground.Cluster, scheduler, file string) {
	body, err := schedulerGet(ctx, c, scheduler, "/debug/pprof/profile?seconds="+strconv.Itoa(profileSeconds))
	if err != nil {
		b.Logf("profile %s: %v", scheduler, err)
		return
	}
	if err := os.WriteFile(file, body, 0o600); err != nil {
		b.Logf("profile %s: %v", scheduler, err)
	}
}

// batchAttempts reads the scheduler's (the cluster's own when "")
// OpportunisticBatching counts so far: pods placed on the node the last
// cycle's ranking hinted at, without filtering and scoring every node
// again (scheduler_batch_attempts_total{result="hint_used"}), of all
// attempts; zeros when they cannot be read.
func batchAttempts(ctx context.Context, b *testing.B, c *ground.Cluster, scheduler string) (used, all int) {
	body, err := schedulerGet(ctx, c, scheduler, "/metrics")
	if err != nil {
		b.Logf("metrics of %s: %v", scheduler, err)
		return 0, 0
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		b.Logf("metrics of %s: %v", scheduler, err)
		return 0, 0
	}
	for _, m := range families["scheduler_batch_attempts_total"].GetMetric() {
		n := int(m.GetCounter().GetValue())
		all += n
		for _, l := range m.GetLabel() {
			if l.GetName() == "result" && l.GetValue() == "hint_used" {
				used += n
			}
		}
	}
	return used, all
}

// schedulerGet reads path from the scheduler's (the cluster's own when "")
// secure port, with the cluster's admin token; its self-signed serving
// certificate is not checked on loopback.
func schedulerGet(ctx context.Context, c *ground.Cluster, scheduler, path string) ([]byte, error) {
	if scheduler == "" {
		scheduler = "kube-scheduler"
	}
	m := regexp.MustCompile(`Serving securely on (127\.0\.0\.1:\d+)`).FindAllStringSubmatch(c.Logs(scheduler, 200), -1)
	if len(m) == 0 {
		return nil, errors.New("no secure port in its log")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+m[len(m)-1][1]+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Config.BearerToken)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback test scheduler
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return body, nil
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(int) error) error {
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
