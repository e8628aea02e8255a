package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/railnet/railnet/api/scheme"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/rails"
	"github.com/railnet/railnet/extender/state"
)

// Name is the plugin's name in a KubeSchedulerConfiguration profile.
const Name = "RailnetPlacement"

// Args are the plugin's pluginConfig args; zero fields take the extender's
// defaults.
type Args struct {
	// HeartbeatTTL is the oldest RDMANode heartbeat accepted (2m).
	HeartbeatTTL metav1.Duration `json:"heartbeatTTL,omitempty"`
	// InFlightTTL is how long a reserved pod holds pool addresses before
	// the cache shows its IPAllocations (30s).
	InFlightTTL metav1.Duration `json:"inFlightTTL,omitempty"`
	// BlockLabel and SpineLabel name the Node labels of the network block
	// and spine (placement.DefaultTopology).
	BlockLabel string `json:"blockLabel,omitempty"`
	SpineLabel string `json:"spineLabel,omitempty"`
	// SyncTimeout bounds the first sync of the plugin's caches (2m).
	SyncTimeout metav1.Duration `json:"syncTimeout,omitempty"`
	// InjectConfigMap is the webhook's ConfigMap as namespace/name (the
	// chart's <release>-config): pods the webhook does not inject
	// (injection off, namespace excluded) ask nothing of the nodes, as on
	// the extender path. Empty: every inject group is acted on.
	InjectConfigMap string `json:"injectConfigMap,omitempty"`
}

// injectConfig is InjectConfigMap as a key (zero when empty).
func (a Args) injectConfig() (types.NamespacedName, error) {
	if a.InjectConfigMap == "" {
		return types.NamespacedName{}, nil
	}
	ns, name, ok := strings.Cut(a.InjectConfigMap, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return types.NamespacedName{}, fmt.Errorf("%s args: injectConfigMap %q: want namespace/name of the webhook's ConfigMap", Name, a.InjectConfigMap)
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

// DecodeArgs reads the args kube-scheduler hands an out-of-tree plugin: nil
// or the raw JSON of its pluginConfig entry.
func DecodeArgs(obj runtime.Object) (Args, error) {
	var a Args
	switch o := obj.(type) {
	case nil:
	case *runtime.Unknown:
		if len(o.Raw) > 0 {
			if err := json.Unmarshal(o.Raw, &a); err != nil {
				return a, fmt.Errorf("%s args: %w", Name, err)
			}
		}
	default:
		return a, fmt.Errorf("%s args: unexpected type %T", Name, obj)
	}
	if a.HeartbeatTTL.Duration < 0 || a.InFlightTTL.Duration < 0 {
		return a, fmt.Errorf("%s args: heartbeatTTL and inFlightTTL must be positive (0 takes the default)", Name)
	}
	if a.HeartbeatTTL.Duration == 0 {
		a.HeartbeatTTL.Duration = 2 * time.Minute
	}
	if a.InFlightTTL.Duration == 0 {
		a.InFlightTTL.Duration = 30 * time.Second
	}
	if a.BlockLabel == "" {
		a.BlockLabel = placement.DefaultTopology.BlockKey
	}
	if a.SpineLabel == "" {
		a.SpineLabel = placement.DefaultTopology.SpineKey
	}
	if a.SyncTimeout.Duration == 0 {
		a.SyncTimeout.Duration = 2 * time.Minute
	}
	if _, err := a.injectConfig(); err != nil {
		return a, err
	}
	return a, nil
}

// New is the plugin's factory (kube-scheduler's PluginFactory signature):
// it starts informers for the kinds the extender reads (slimmed as the
// extender slims them) with the scheduler's credentials and waits for them
// to sync. Nodes and Pods come from the scheduler's own informers (every
// Pod of the cluster is watched and decoded once), which start once the
// plugins are built: PreFilter waits until the plugin has seen their first
// lists.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	args, err := DecodeArgs(obj)
	if err != nil {
		return nil, err
	}
	rc := cacheConfig(h.KubeConfig())
	injectConfig, _ := args.injectConfig() // checked by DecodeArgs
	c, err := cache.New(rc, state.CacheOptions(cache.Options{Scheme: scheme.New()}, injectConfig))
	if err != nil {
		return nil, fmt.Errorf("%s informer cache: %w", Name, err)
	}
	var opts []state.StoreOption
	if f := h.SharedInformerFactory(); f != nil {
		opts = append(opts, state.NodesFrom(f.Core().V1().Nodes().Informer()),
			state.PodsFrom(f.Core().V1().Pods().Informer()))
	}
	store, err := state.NewCacheStore(ctx, c, injectConfig, opts...)
	if err != nil {
		return nil, err
	}
	log := klog.FromContext(ctx).WithValues("plugin", Name)
	go func() {
		if err := c.Start(ctx); err != nil {
			log.Error(err, "informer cache stopped")
		}
	}()
	syncCtx, cancel := context.WithTimeout(ctx, args.SyncTimeout.Duration)
	defer cancel()
	if !c.WaitForCacheSync(syncCtx) {
		return nil, fmt.Errorf("%s: informer caches did not sync within %s: check the scheduler's RBAC (list/watch nodes, pods, rdmanodes, ipallocations, spiderippools, spidermultusconfigs)",
			Name, args.SyncTimeout.Duration)
	}
	log.Info("informer caches synced")
	pl := NewWithStore(store, args)
	pl.sourcesSynced = store.Synced
	return pl, nil
}

// cacheConfig is the scheduler's client config for the plugin's informer
// cache. kube-scheduler asks for protobuf, which the apiserver does not
// serve for custom resources (railnet's kinds): with no content type set,
// the cache asks for protobuf for Kubernetes' own kinds (Pods, the
// ConfigMap) and JSON for the rest. (Pods decoded from JSON cost the
// scheduler 2% of its CPU on 5,000 nodes.)
func cacheConfig(c *rest.Config) *rest.Config {
	rc := rest.CopyConfig(c)
	rc.ContentType, rc.AcceptContentTypes = "", ""
	return rc
}

// NewWithStore returns the plugin over a store (tests and benchmarks pass
// a statetest.MemStore).
func NewWithStore(s state.Store, args Args) *Plugin {
	topo := placement.Topology{BlockKey: args.BlockLabel, SpineKey: args.SpineLabel}
	d := state.NewDecider(s, args.HeartbeatTTL.Duration, args.InFlightTTL.Duration, topo)
	return &Plugin{Decider: d}
}

// Plugin is RailnetPlacement.
type Plugin struct {
	// Decider holds the store, the in-flight book and the options; the
	// plugin asks it the same questions the extender's handlers do.
	Decider *state.Decider

	// nodes maps the scheduler's NodeInfos to the nodes' entries in the
	// store, for the node list PreFilter saw last (nodeTable).
	nodes atomic.Pointer[nodeTable]
	// last is what PreFilter wrote last, with its CycleState: Filter and
	// Score, called for every node, read it without the CycleState's
	// lookup.
	last atomic.Pointer[lastCycle]
	// sourcesSynced reports whether the store holds the first lists of
	// the scheduler's Nodes and Pods (nil: it always does); synced is set
	// once it has.
	sourcesSynced func() bool
	synced        atomic.Bool
	// fewScored: the last PreScore was handed under a quarter of the
	// node list, so the scheduler evaluates only some of the nodes (its
	// percentage of nodes to score, or other plugins refusing most of
	// them) and allPass, which reads every node, would cost more than the
	// Filter calls it saves.
	fewScored atomic.Bool
}

// waitForNodes waits until the store holds the first lists of the
// scheduler's Nodes and Pods: until then a node would be refused as
// unknown, or its RDMA shares counted as free.
func (pl *Plugin) waitForNodes(ctx context.Context) error {
	if pl.synced.Load() || pl.sourcesSynced == nil {
		return nil
	}
	err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
		return pl.sourcesSynced(), nil
	})
	if err != nil {
		return fmt.Errorf("%s: the scheduler's Nodes and Pods have not reached the plugin yet: %w", Name, err)
	}
	pl.synced.Store(true)
	return nil
}

// lastCycle is the cycle PreFilter worked out for the CycleState cs; nil
// when PreFilter skipped the pod or refused it.
type lastCycle struct {
	cs fwk.CycleState
	c  *cycle
}

// nodeTable maps the scheduler's NodeInfos to the nodes' entries in the
// store (placement.NodeRef), so Filter and Score find a node's facts by
// the NodeInfo's pointer instead of by name. The scheduler's snapshot
// keeps one NodeInfo per node for the node's life and its node list until
// a node is added or removed, so the table is built again only when
// PreFilter is handed another list, or when a node's entry was found gone
// while the store knew the node by name (it was removed and added back).
// NodeInfos it does not hold (the copies preemption and nominated pods
// work on) are looked up by name. Read-only once built but for stale and
// the slots' memos.
type nodeTable struct {
	// first and n identify the node list the table was built from.
	first *fwk.NodeInfo
	n     int
	// slots are keyed by infoKey: a pointer keys a map faster than an
	// interface value does (Filter and Score look a node up 2 × 5,000
	// times per pod on 5,000 nodes). An unsafe.Pointer, not a uintptr,
	// keeps the NodeInfo alive, so no later one can take its address.
	slots map[unsafe.Pointer]*nodeSlot
	// list holds the slots in the node list's order (slots points into
	// it); failed is the index of the node that failed allPass last,
	// where the next allPass starts.
	list   []nodeSlot
	failed atomic.Int32
	stale  atomic.Bool
}

// nodeSlot is one node of the table.
type nodeSlot struct {
	ref *placement.NodeRef
	// verdict remembers the node's Filter verdict for its facts (with no
	// slots in use: Filter counts none).
	verdict placement.VerdictMemo
	// score remembers the node's score parts for the NodeInfo's
	// generation (Score).
	score placement.ScoreMemo
}

// infoKey is what the table knows a NodeInfo by: its pointer (the
// scheduler's NodeInfos are *framework.NodeInfo); nil when it is not a
// pointer.
func infoKey(ni fwk.NodeInfo) unsafe.Pointer {
	v := reflect.ValueOf(ni)
	if v.Kind() != reflect.Pointer {
		return nil
	}
	return v.UnsafePointer()
}

func newNodeTable(nodes []fwk.NodeInfo, s state.Store) *nodeTable {
	t := &nodeTable{n: len(nodes), slots: make(map[unsafe.Pointer]*nodeSlot, len(nodes))}
	if len(nodes) > 0 {
		t.first = &nodes[0]
	}
	t.list = make([]nodeSlot, len(nodes))
	for i, ni := range nodes {
		k := infoKey(ni)
		if n := ni.Node(); n != nil && k != nil {
			t.list[i].ref = s.NodeRef(n.Name)
			t.slots[k] = &t.list[i]
		}
	}
	return t
}

// serves reports whether the table was built from the node list nodes.
func (t *nodeTable) serves(nodes []fwk.NodeInfo) bool {
	if t == nil || t.n != len(nodes) || t.stale.Load() {
		return false
	}
	return len(nodes) == 0 || t.first == &nodes[0]
}

// table returns the node table for the list PreFilter is handed.
func (pl *Plugin) table(nodes []fwk.NodeInfo) *nodeTable {
	if t := pl.nodes.Load(); t.serves(nodes) {
		return t
	}
	t := newNodeTable(nodes, pl.Decider.Store)
	pl.nodes.Store(t)
	return t
}

// facts returns the node's current facts (nil: the store does not know
// the node) and its slot: through its entry when the table holds the
// NodeInfo, else by name and no slot.
func (pl *Plugin) facts(t *nodeTable, ni fwk.NodeInfo) (*placement.NodeFacts, *nodeSlot) {
	slot := t.slots[infoKey(ni)]
	if slot != nil {
		if f := slot.ref.Facts(); f != nil {
			return f, slot
		}
	}
	f := pl.Decider.Store.NodeFacts(ni.Node().Name)
	if slot != nil && f != nil && !t.stale.Load() {
		t.stale.Store(true) // the node came back: build the table again
	}
	return f, nil
}

var (
	_ fwk.PreFilterPlugin   = (*Plugin)(nil)
	_ fwk.FilterPlugin      = (*Plugin)(nil)
	_ fwk.PreScorePlugin    = (*Plugin)(nil)
	_ fwk.ScorePlugin       = (*Plugin)(nil)
	_ fwk.ReservePlugin     = (*Plugin)(nil)
	_ fwk.SignPlugin        = (*Plugin)(nil)
	_ fwk.EnqueueExtensions = (*Plugin)(nil)
)

// Name implements fwk.Plugin.
func (pl *Plugin) Name() string { return Name }

const cycleKey fwk.StateKey = Name + "/cycle"

// cycle is what PreFilter works out for one pod; read-only afterwards, so
// clones share it.
type cycle struct {
	pod placement.Pod
	// wants are the pod's rail resources, sorted as placement.Amounts are.
	wants placement.Amounts
	// checker decides per node in Filter and scorer scores per node in
	// Score, on the scheduler's goroutines and only for the nodes it
	// evaluates.
	checker *placement.NodeChecker
	scorer  *placement.NodeScorer
	// nodes is the node table for the scheduler's node list.
	nodes *nodeTable
	// remember: Score may remember a node's score parts by its NodeInfo's
	// generation. Not in a pod group's cycle, where the scheduler adds the
	// group's pods to its snapshot's NodeInfos and keeps their
	// generations.
	remember bool
}

func (c *cycle) Clone() fwk.StateData { return c }

// PreFilter works out the pod's rails, its pools' room and its job's
// nodes once per cycle. It returns Skip for a pod without rails (no later
// extension point of the plugin runs for it, and it costs no node lookup)
// and for a pod every node passes (allPass: the framework calls no Filter,
// Score runs) when the scheduler evaluates most nodes (fewScored).
func (pl *Plugin) PreFilter(ctx context.Context, cs fwk.CycleState, pod *corev1.Pod, nodes []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	d := pl.Decider
	rs, err := rails.ForPod(pod, d.Store)
	var st *fwk.Status
	switch {
	case err != nil:
		st = fwk.NewStatus(fwk.UnschedulableAndUnresolvable, err.Error())
	case len(rs) == 0:
		st = fwk.NewStatus(fwk.Skip)
	default:
		if err := pl.waitForNodes(ctx); err != nil {
			st = fwk.AsStatus(err)
		}
	}
	if st != nil {
		pl.last.Store(&lastCycle{cs: cs}) // no later extension point runs for the pod
		return nil, st
	}
	d.InFlight.Forget(pod.UID)
	p := placement.NewPod(pod, rs)
	pools, peers := d.PoolsAndPeers(pod, rs)
	c := &cycle{pod: p, wants: placement.AmountsOf(p.Requests),
		checker: placement.NewNodeChecker(p, pools, d.Options()),
		scorer:  placement.NewNodeScorer(p, peers, d.Topology),
		nodes:   pl.table(nodes), remember: !cs.IsPodGroupSchedulingCycle()}
	cs.Write(cycleKey, c)
	pl.last.Store(&lastCycle{cs: cs, c: c})
	if !pl.fewScored.Load() && c.allPass(nodes) {
		// Filter would pass every node: the framework calls it for none
		// in this cycle (PreScore and Score still run).
		return nil, fwk.NewStatus(fwk.Skip)
	}
	return nil, nil
}

// allPass reports whether Filter would pass every node of the list
// PreFilter is handed, from the nodes' remembered verdicts (working out
// and remembering those that do not hold). Filter's verdict does not
// depend on the node's pods, so for a pod that every node passes the
// framework's per-node Filter call — most of the plugin's cost to the
// scheduler — can be skipped. It stops at the first node that fails and
// starts there next time, so on a cluster with nodes the pod never fits
// it costs one remembered verdict per cycle. Only when verdicts are
// remembered: otherwise it would do Filter's work twice.
func (c *cycle) allPass(nodes []fwk.NodeInfo) bool {
	t := c.nodes
	n := len(t.list)
	if !c.checker.Remembers() || n != len(nodes) {
		return false
	}
	start := int(t.failed.Load())
	for k := range n {
		i := (start + k) % n
		s := &t.list[i]
		if s.ref == nil {
			t.failed.Store(int32(i))
			return false
		}
		f := s.ref.Facts()
		reason, _, ok := c.checker.Remembered(&s.verdict, f, placement.Use{})
		if !ok {
			reason, _ = c.checker.Decide(&s.verdict, &placement.NodeState{Name: nodes[i].Node().Name, Facts: f}, placement.Use{})
		}
		if reason != "" {
			t.failed.Store(int32(i))
			return false
		}
	}
	return true
}

// PreFilterExtensions implements fwk.PreFilterPlugin: the slots in use
// come from the NodeInfo Filter gets, which preemption's what-ifs adjust.
func (pl *Plugin) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// readCycle returns what PreFilter worked out for the cycle of cs; an
// error when PreFilter skipped the pod.
func (pl *Plugin) readCycle(cs fwk.CycleState) (*cycle, error) {
	if l := pl.last.Load(); l != nil && l.cs == cs {
		if l.c == nil {
			return nil, errSkipped
		}
		return l.c, nil
	}
	v, err := cs.Read(cycleKey)
	if err != nil {
		return nil, fmt.Errorf("%s: read PreFilter state: %w", Name, err)
	}
	c, ok := v.(*cycle)
	if !ok {
		return nil, fmt.Errorf("%s: PreFilter state is %T", Name, v)
	}
	return c, nil
}

// errSkipped: PreFilter skipped the pod (or refused it), so no later
// extension point runs for it.
var errSkipped = fmt.Errorf("%s: PreFilter skipped the pod", Name)

// Filter decides about the node as the extender would, with no slots in
// use: those are extended resources, which the scheduler's own
// NodeResourcesFit counts against the node's allocatable with bound and
// assumed pods (the extender path relies on the same), and says so
// ("Insufficient <resource>"). It takes no lock and allocates nothing for
// a node that passes.
func (pl *Plugin) Filter(_ context.Context, cs fwk.CycleState, _ *corev1.Pod, ni fwk.NodeInfo) *fwk.Status {
	c, err := pl.readCycle(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	f, slot := pl.facts(c.nodes, ni)
	var m *placement.VerdictMemo
	if slot != nil {
		m = &slot.verdict
	}
	n := placement.NodeState{Name: ni.Node().Name, Facts: f}
	switch reason, unresolvable := c.checker.Decide(m, &n, placement.Use{}); {
	case reason == "":
		return nil
	case unresolvable:
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, reason)
	default:
		return fwk.NewStatus(fwk.Unschedulable, reason)
	}
}

// PreScore lets Score run for pods PreFilter worked out (what scoring
// needs, the job's nodes, it has) and notes how many nodes the scheduler
// scores (fewScored).
func (pl *Plugin) PreScore(_ context.Context, cs fwk.CycleState, _ *corev1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	c, err := pl.readCycle(cs)
	if err != nil {
		return fwk.NewStatus(fwk.Skip) // PreFilter skipped the pod
	}
	pl.fewScored.Store(4*len(nodes) < c.nodes.n)
	return nil
}

// Score scores the node on the scheduler's goroutines: job locality
// against the nodes of the pod's job, bin-packing of the RDMA slots (the
// NodeInfo's use, assumed pods included), GPU↔NIC affinity; placement's
// score scaled to the framework's 0..MaxNodeScore.
func (pl *Plugin) Score(_ context.Context, cs fwk.CycleState, _ *corev1.Pod, ni fwk.NodeInfo) (int64, *fwk.Status) {
	c, err := pl.readCycle(cs)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	f, slot := pl.facts(c.nodes, ni)
	if f == nil {
		return 0, nil
	}
	// The node's use of the pod's resources goes on the stack for up to
	// 16 resources.
	var buf [16]placement.Amount
	if slot == nil || !c.remember {
		return scoreScale * c.scorer.Score(f, c.used(ni, buf[:0]), nil), nil
	}
	use := placement.UseGen(ni.GetGeneration())
	if score, ok := c.scorer.ScoreRemembered(&slot.score, f, use); ok {
		return scoreScale * score, nil
	}
	return scoreScale * c.scorer.ScoreAndRemember(&slot.score, f, use, c.used(ni, buf[:0]), nil), nil
}

// used appends to out the node's use of the pod's resources, sorted as
// c.wants: what the node's bound and assumed pods request.
func (c *cycle) used(ni fwk.NodeInfo, out placement.Amounts) placement.Amounts {
	used := ni.GetRequested().GetScalarResources()
	for _, w := range c.wants {
		out = append(out, placement.Amount{Resource: w.Resource, Value: used[w.Resource]})
	}
	return out
}

// scoreScale maps placement's 0..MaxScore onto the framework's
// 0..MaxNodeScore, as kube-scheduler scales an extender's priorities (an
// exact multiple: TestScoreScale).
const scoreScale = fwk.MaxNodeScore / placement.MaxScore

// ScoreExtensions implements fwk.ScorePlugin: Score's scores need no
// normalizing (Score scales them).
func (pl *Plugin) ScoreExtensions() fwk.ScoreExtensions { return nil }

// Reserve notes the pod as in flight to the node: its pools' addresses
// are counted as taken until the cache shows its IPAllocations (the RDMA
// slots need no book: the scheduler's cache counts the assumed pod).
func (pl *Plugin) Reserve(_ context.Context, cs fwk.CycleState, pod *corev1.Pod, node string) *fwk.Status {
	c, err := pl.readCycle(cs)
	if err != nil {
		return nil // skipped: no rails
	}
	pl.Decider.InFlight.Record(pod, c.pod, node)
	return nil
}

// Unreserve forgets the pod's in-flight entry.
func (pl *Plugin) Unreserve(_ context.Context, _ fwk.CycleState, pod *corev1.Pod, _ string) {
	pl.Decider.InFlight.Forget(pod.UID)
}

// SignPod signs a pod by what railnet decides on: its networks (the Multus
// networks annotation and the inject groups) and its job, so consecutive
// pods of one job can reuse a scheduling cycle's ranking
// (OpportunisticBatching). The framework runs Filter again on the hinted
// node and rescores the node the last pod went to, which is what the job's
// locality and bin-packing move. Its RDMA resources are signed by the
// scheduler's resource plugins.
func (pl *Plugin) SignPod(_ context.Context, pod *corev1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	a := pod.Annotations
	return []fwk.SignFragment{{Key: Name + ".networks()", Value: [4]string{
		a[nadv1.NetworkAttachmentAnnot], a[spiderv2beta1.AnnotationRDMAResourceInject], a[spiderv2beta1.AnnotationNetworkResourceInject],
		placement.JobKey(pod),
	}}}, nil
}

// Custom resources the scheduler watches for the plugin, as
// <plural>.<version>.<group>.
const (
	rdmaNodes    fwk.EventResource = "rdmanodes.v1alpha1.railnet.io"
	ipAllocs     fwk.EventResource = "ipallocations.v1alpha1.railnet.io"
	ipPools      fwk.EventResource = "spiderippools.v2beta1.spiderpool.spidernet.io"
	multusConfig fwk.EventResource = "spidermultusconfigs.v2beta1.spiderpool.spidernet.io"
)

// EventsToRegister lists what may make a refused pod fit: a node or its
// RDMANode changing, a pod leaving (slots), a pool or its allocations
// changing (addresses), a SpiderMultusConfig changing (the pod's rails).
func (pl *Plugin) EventsToRegister(context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeAllocatable | fwk.UpdateNodeLabel}},
		{Event: fwk.ClusterEvent{Resource: fwk.AssignedPod, ActionType: fwk.Delete}},
		{Event: fwk.ClusterEvent{Resource: rdmaNodes, ActionType: fwk.All}},
		{Event: fwk.ClusterEvent{Resource: ipAllocs, ActionType: fwk.Delete}},
		{Event: fwk.ClusterEvent{Resource: ipPools, ActionType: fwk.All}},
		{Event: fwk.ClusterEvent{Resource: multusConfig, ActionType: fwk.All}},
	}, nil
}
