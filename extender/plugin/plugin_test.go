package plugin

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	fwk "k8s.io/kube-scheduler/framework"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/plugin/plugintest"
	"github.com/railnet/railnet/extender/state"
	"github.com/railnet/railnet/extender/state/statetest"
)

const gpu1 corev1.ResourceName = "spidernet.io/shared_cx5_gpu1"

func newCycleState() *plugintest.CycleState { return plugintest.NewCycleState() }

// world has nodes n1..n4 with rail eth1 on one pool: n1 and n4 fine
// (n4 in n1's block), n2's eth1 down, n3 without an RDMANode.
func world(poolIPs string) *statetest.MemStore {
	c := statetest.NewCluster([]int{1}, func(int) corev1.ResourceName { return gpu1 },
		func(int) *spiderv2beta1.SpiderIPPool { return statetest.Pool("gpu1-net11", "172.16.11.0/24", poolIPs) })
	for _, name := range []string{"n1", "n2", "n3", "n4"} {
		block := "block-" + name
		if name == "n4" {
			block = "block-n1"
		}
		_, rn := c.AddNode(name, 2, map[string]string{placement.DefaultTopology.BlockKey: block})
		switch name {
		case "n2":
			rn.Status.NICs[0].LinkState = "down"
		case "n3":
			delete(c.RDMANodes, name)
		}
	}
	return c.MemStore
}

func rdmaPod(name string, labels map[string]string) *corev1.Pod {
	return statetest.RDMAPod(name, labels, gpu1)
}

// infos are the world's nodes as the scheduler sees them, with used slots
// of gpu1 per node.
func infos(s *statetest.MemStore, used map[string]int64) []fwk.NodeInfo {
	var out []fwk.NodeInfo
	for _, name := range slices.Sorted(maps.Keys(s.Nodes)) {
		out = append(out, plugintest.NodeInfo(s.Nodes[name], map[corev1.ResourceName]int64{gpu1: used[name]}))
	}
	return out
}

func newPlugin(t *testing.T, s state.Store) *Plugin {
	t.Helper()
	args, err := DecodeArgs(nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewWithStore(s, args)
}

// filter runs PreFilter and Filter on every node and returns each node's
// status (nil: passed). When PreFilter skips Filter (every node passes),
// Filter is asked anyway and must pass every node.
func filter(t *testing.T, pl *Plugin, cs fwk.CycleState, pod *corev1.Pod, nodes []fwk.NodeInfo) map[string]*fwk.Status {
	t.Helper()
	ctx := context.Background()
	_, pre := pl.PreFilter(ctx, cs, pod, nodes)
	if !pre.IsSuccess() && !pre.IsSkip() {
		t.Fatalf("PreFilter %s: %v", pod.Name, pre)
	}
	out := map[string]*fwk.Status{}
	for _, ni := range nodes {
		st := pl.Filter(ctx, cs, pod, ni)
		if pre.IsSkip() && !st.IsSuccess() {
			t.Fatalf("PreFilter %s skipped Filter, which refuses %s: %v", pod.Name, ni.Node().Name, st)
		}
		out[ni.Node().Name] = st
	}
	return out
}

func TestPodWithoutRailsSkipsThePlugin(t *testing.T) {
	s := world("172.16.11.1-172.16.11.100")
	pl := newPlugin(t, s)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "nginx"}}
	_, st := pl.PreFilter(context.Background(), newCycleState(), pod, infos(s, nil))
	if !st.IsSkip() {
		t.Fatalf("PreFilter of a pod without rails: %v, want Skip", st)
	}
}

func TestUnknownNetworkIsRefusedInPreFilter(t *testing.T) {
	s := world("172.16.11.1-172.16.11.100")
	pl := newPlugin(t, s)
	pod := rdmaPod("a", nil)
	pod.Annotations[spiderv2beta1.AnnotationRDMAResourceInject] = "no-such-group"
	_, st := pl.PreFilter(context.Background(), newCycleState(), pod, infos(s, nil))
	if st.Code() != fwk.UnschedulableAndUnresolvable || !strings.Contains(st.Message(), "no-such-group") {
		t.Fatalf("PreFilter: %v, want UnschedulableAndUnresolvable naming the group", st)
	}
}

// The plugin passes and refuses exactly the nodes the extender does, with
// the extender's reasons.
func TestFilterAgreesWithTheExtender(t *testing.T) {
	s := world("172.16.11.1-172.16.11.100")
	pl := newPlugin(t, s)
	pod := rdmaPod("a", nil)
	s.Pods = append(s.Pods, pod)
	got := filter(t, pl, newCycleState(), pod, infos(s, nil))

	ext := state.NewDecider(s, 2*time.Minute, 30*time.Second, placement.DefaultTopology)
	want := ext.Filter(pod, []string{"n1", "n2", "n3", "n4"})
	for name, st := range got {
		switch {
		case slices.Contains(want.Passed, name):
			if !st.IsSuccess() {
				t.Errorf("%s: plugin %v, extender passed it", name, st)
			}
		case want.Unresolvable[name] != "":
			if st.Code() != fwk.UnschedulableAndUnresolvable || st.Message() != want.Unresolvable[name] {
				t.Errorf("%s: plugin %v, extender unresolvable %q", name, st, want.Unresolvable[name])
			}
		default:
			t.Errorf("%s: extender %+v", name, want)
		}
	}
	if !got["n1"].IsSuccess() || !strings.Contains(got["n2"].Message(), "NIC eth1 is down") || !strings.Contains(got["n3"].Message(), "no RDMANode") {
		t.Fatalf("verdicts: n1 %v, n2 %v, n3 %v", got["n1"], got["n2"], got["n3"])
	}
}

// Slots in use are NodeResourcesFit's: PreFilter's verdicts count none
// (a pod asking more than a node has at all is still refused).
func TestFilterLeavesSlotsInUseToTheScheduler(t *testing.T) {
	s := world("172.16.11.1-172.16.11.100")
	pl := newPlugin(t, s)
	pod := rdmaPod("a", nil)
	if got := filter(t, pl, newCycleState(), pod, infos(s, map[string]int64{"n1": 2})); !got["n1"].IsSuccess() {
		t.Fatalf("n1 with its slots in use: %v, want success (NodeResourcesFit refuses it)", got["n1"])
	}
	pod.Spec.Containers[0].Resources.Limits[gpu1] = resource.MustParse("3")
	got := filter(t, pl, newCycleState(), pod, infos(s, nil))
	if st := got["n1"]; st.Code() != fwk.Unschedulable || st.Message() != placement.SlotsReason(gpu1, 3) {
		t.Fatalf("3 slots on a node of 2: %v, want Unschedulable %q", st, placement.SlotsReason(gpu1, 3))
	}
}

// A reserved pod holds a pool address until the cache shows its
// IPAllocation; Unreserve gives it back.
func TestReserveHoldsPoolAddresses(t *testing.T) {
	s := world("172.16.11.1-172.16.11.1") // one address
	pl := newPlugin(t, s)
	a, b := rdmaPod("a", nil), rdmaPod("b", nil)
	s.Pods = append(s.Pods, a, b)
	ctx := context.Background()
	csA := newCycleState()
	if got := filter(t, pl, csA, a, infos(s, nil)); !got["n1"].IsSuccess() {
		t.Fatalf("a on n1: %v", got["n1"])
	}
	if st := pl.Reserve(ctx, csA, a, "n1"); !st.IsSuccess() {
		t.Fatal(st)
	}
	got := filter(t, pl, newCycleState(), b, infos(s, nil))
	if st := got["n4"]; st.Code() != fwk.UnschedulableAndUnresolvable || !strings.Contains(st.Message(), "SpiderIPPool gpu1-net11 has no free address") {
		t.Fatalf("b while a holds the only address: %v", st)
	}
	pl.Unreserve(ctx, csA, a, "n1")
	if got := filter(t, pl, newCycleState(), b, infos(s, nil)); !got["n4"].IsSuccess() {
		t.Fatalf("b after a was unreserved: %v", got["n4"])
	}
}

// Nodes in the block of the job's other pods score highest; scores are
// scaled onto the framework's range.
func TestScoreFollowsTheJob(t *testing.T) {
	s := world("172.16.11.1-172.16.11.100")
	job := map[string]string{"railnet.io/job": "j"}
	peer := rdmaPod("w0", job)
	peer.Spec.NodeName = "n1"
	pod := rdmaPod("w1", job)
	s.Pods = append(s.Pods, peer, pod)
	pl := newPlugin(t, s)
	ctx := context.Background()
	cs := newCycleState()
	nodes := infos(s, map[string]int64{"n1": 1})
	filter(t, pl, cs, pod, nodes)
	feasible := []fwk.NodeInfo{nodes[0], nodes[3]} // n1, n4
	if st := pl.PreScore(ctx, cs, pod, feasible); !st.IsSuccess() {
		t.Fatal(st)
	}
	var list fwk.NodeScoreList
	for _, ni := range feasible {
		sc, st := pl.Score(ctx, cs, pod, ni)
		if !st.IsSuccess() {
			t.Fatal(st)
		}
		list = append(list, fwk.NodeScore{Name: ni.Node().Name, Score: sc})
	}
	// n1: same block 6 + packing round(3*2/2)=3 → 9; n4: 6 + round(3*1/2)=2
	// → 8; scaled to the framework's 0..100.
	if list[0].Score != 90 || list[1].Score != 80 {
		t.Fatalf("scores %v, want n1 90, n4 80", list)
	}
	if pl.ScoreExtensions() != nil {
		t.Fatal("the plugin's scores need no normalizing: ScoreExtensions should be nil")
	}
	// The extender's prioritize gives the same ranking.
	ext := state.NewDecider(s, 2*time.Minute, 30*time.Second, placement.DefaultTopology)
	for _, hs := range ext.Prioritize(pod, []string{"n4"}) {
		if hs.Score != 8 {
			t.Fatalf("extender n4 %d, plugin 8", hs.Score)
		}
	}
}

func TestDecodeArgs(t *testing.T) {
	a, err := DecodeArgs(&runtime.Unknown{Raw: []byte(`{"heartbeatTTL":"45s","blockLabel":"b"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if a.HeartbeatTTL.Duration != 45*time.Second || a.BlockLabel != "b" || a.InFlightTTL.Duration != 30*time.Second ||
		a.SpineLabel != placement.DefaultTopology.SpineKey {
		t.Fatalf("%+v", a)
	}
	if _, err := DecodeArgs(&runtime.Unknown{Raw: []byte(`{"heartbeatTTL":"-1s"}`)}); err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Fatalf("negative TTL: %v", err)
	}
	a, err = DecodeArgs(&runtime.Unknown{Raw: []byte(`{"injectConfigMap":"railnet/railnet-config"}`)})
	if key, _ := a.injectConfig(); err != nil || key.Namespace != "railnet" || key.Name != "railnet-config" {
		t.Fatalf("injectConfigMap: %+v, %v", key, err)
	}
	_, err = DecodeArgs(&runtime.Unknown{Raw: []byte(`{"injectConfigMap":"railnet-config"}`)})
	if want := `RailnetPlacement args: injectConfigMap "railnet-config": want namespace/name of the webhook's ConfigMap`; err == nil || err.Error() != want {
		t.Fatalf("injectConfigMap without namespace: %v, want %s", err, want)
	}
}

// Pods of one job on the same networks sign alike (the scheduler may reuse
// a ranking between them); another job or network signs differently.
func TestSignPod(t *testing.T) {
	pl := newPlugin(t, world("172.16.11.1-172.16.11.100"))
	sign := func(p *corev1.Pod) string {
		f, st := pl.SignPod(context.Background(), p)
		if !st.IsSuccess() {
			t.Fatal(st)
		}
		return fmt.Sprint(f)
	}
	a, b := rdmaPod("a", map[string]string{"railnet.io/job": "j"}), rdmaPod("b", map[string]string{"railnet.io/job": "j"})
	other := rdmaPod("c", map[string]string{"railnet.io/job": "k"})
	net := rdmaPod("d", map[string]string{"railnet.io/job": "j"})
	net.Annotations[spiderv2beta1.AnnotationRDMAResourceInject] = "other-group"
	if sign(a) != sign(b) {
		t.Fatalf("same job, same networks: %s vs %s", sign(a), sign(b))
	}
	if sign(a) == sign(other) || sign(a) == sign(net) {
		t.Fatalf("another job or network signed alike: %s, %s, %s", sign(a), sign(other), sign(net))
	}
}

// The scheduler calls Filter for many nodes at once.
func TestFilterConcurrently(t *testing.T) {
	s := world("172.16.11.1-172.16.11.100")
	pl := newPlugin(t, s)
	pod := rdmaPod("a", nil)
	cs := newCycleState()
	nodes := infos(s, nil)
	if _, st := pl.PreFilter(context.Background(), cs, pod, nodes); !st.IsSuccess() {
		t.Fatal(st)
	}
	want := filter(t, pl, newCycleState(), pod, nodes)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for _, ni := range nodes {
					got := pl.Filter(context.Background(), cs, pod, ni)
					if got.Code() != want[ni.Node().Name].Code() || got.Message() != want[ni.Node().Name].Message() {
						t.Errorf("%s: %v, alone %v", ni.Node().Name, got, want[ni.Node().Name])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// On a cluster of many 8-rail nodes (rails down, stale heartbeats, a job
// spread over blocks, every third node nearly full), one cycle through the
// plugin refuses exactly the nodes the extender's filter does, with its
// reasons, and scores the rest as its prioritize does (scaled onto the
// framework's range).
func TestCycleAgreesWithTheExtenderOnAGPUCluster(t *testing.T) {
	c, names := statetest.GPUCluster(120)
	for i, name := range names {
		if i%3 == 0 {
			for _, r := range c.Resources {
				c.Nodes[name].Status.Allocatable[r] = resource.MustParse("6")
			}
		}
	}
	c.Freeze()
	pod := c.NewPod("job-1-new", map[string]string{"railnet.io/job": "job-1"})
	nodes := make([]fwk.NodeInfo, len(names))
	for i, name := range names {
		used := map[corev1.ResourceName]int64{}
		for _, r := range c.Resources {
			used[r] = statetest.GPUPodsPerNode
		}
		nodes[i] = plugintest.NodeInfo(c.Nodes[name], used)
	}
	filtered, scores, st := plugintest.Cycle(newPlugin(t, c.MemStore), newCycleState(), pod, nodes)
	if !st.IsSuccess() {
		t.Fatal(st)
	}
	ext := state.NewDecider(c.MemStore, 2*time.Minute, 30*time.Second, placement.DefaultTopology)
	want := ext.Filter(pod, names)
	if len(want.Passed) == len(names) || len(want.Unresolvable) == 0 {
		t.Fatalf("the cluster refuses no node: %+v", want)
	}
	for i, name := range names {
		switch st := filtered[i]; {
		case slices.Contains(want.Passed, name):
			if !st.IsSuccess() {
				t.Errorf("%s: plugin %v, extender passed it", name, st)
			}
		case st.Code() != fwk.UnschedulableAndUnresolvable || st.Message() != want.Unresolvable[name]:
			t.Errorf("%s: plugin %v, extender unresolvable %q", name, st, want.Unresolvable[name])
		}
	}
	prio := ext.Prioritize(pod, want.Passed)
	if len(scores) != len(prio) {
		t.Fatalf("plugin scored %d nodes, extender %d", len(scores), len(prio))
	}
	distinct := map[int64]bool{}
	for i, hs := range prio {
		if scores[i].Name != hs.Host || scores[i].Score != hs.Score*fwk.MaxNodeScore/placement.MaxScore {
			t.Errorf("node %d: plugin %s %d, extender %s %d", i, scores[i].Name, scores[i].Score, hs.Host, hs.Score)
		}
		distinct[hs.Score] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("every node scores alike (%v): the test shows nothing", distinct)
	}
}

// The plugin's informer cache asks the apiserver for protobuf for Pods
// (as the scheduler's own informers do) and JSON for railnet's custom
// resources, whatever kube-scheduler's client config asks for.
func TestCacheConfigContentTypes(t *testing.T) {
	accept := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept <- r.Header.Get("Accept")
		http.Error(w, "recorded", http.StatusTeapot)
	}))
	defer srv.Close()
	sched := &rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: runtime.ContentTypeProtobuf, AcceptContentTypes: runtime.ContentTypeProtobuf}}
	rc := cacheConfig(sched)
	if sched.ContentType != runtime.ContentTypeProtobuf {
		t.Fatal("cacheConfig changed the scheduler's config")
	}
	codecs := serializer.NewCodecFactory(scheme.New())
	for _, tc := range []struct {
		gvk  schema.GroupVersionKind
		want string
	}{
		{corev1.SchemeGroupVersion.WithKind("Pod"), runtime.ContentTypeProtobuf},
		{railnetv1.GroupVersion.WithKind("RDMANode"), runtime.ContentTypeJSON},
	} {
		c, err := apiutil.RESTClientForGVK(tc.gvk, false, false, rc, codecs, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Get().Resource("things").Do(context.Background()).Error()
		if got := <-accept; !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: Accept %q, want %s first", tc.gvk.Kind, got, tc.want)
		}
	}
}

// Placement's scores scale onto the framework's exactly: the top score is
// the framework's top score.
func TestScoreScale(t *testing.T) {
	if scoreScale*placement.MaxScore != fwk.MaxNodeScore {
		t.Fatalf("placement.MaxScore %d does not divide fwk.MaxNodeScore %d", placement.MaxScore, fwk.MaxNodeScore)
	}
}
