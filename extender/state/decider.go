package state

import (
	"net/netip"
	"sync"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/rails"
)

// Decider answers filter and prioritize from a Store.
type Decider struct {
	Store    Store
	InFlight *InFlight
	// Options returns the filter options for this moment (its Now).
	Options  func() placement.Options
	Topology placement.Topology
	// Reference makes every request decide from the store alone, without
	// what earlier requests left (the node table, remembered verdicts):
	// the computation the fast paths are tested and measured against.
	Reference bool

	poolMu    sync.Mutex
	poolCache map[string]poolEntry

	// passed are the nodes the last filter request passed, for the
	// prioritize request that follows it with exactly those names.
	passedMu sync.Mutex
	passed   passedNodes

	// table follows the nodes of the last filter request's list.
	table nodeTable
}

type passedNodes struct {
	uid   types.UID
	nodes []placement.NodeState
	// epoch and rows: nodes[i] is row rows[i] of the node table of
	// that epoch (0: not from the table).
	epoch uint64
	rows  []int
}

// poolEntry is a pool's room without in-flight pods, valid for one
// generation of the pool and its allocations.
type poolEntry struct {
	gen     uint64
	room    placement.PoolRoom
	holders map[unique.Handle[string]]int32 // allocations of the pool by pod UID
}

// NewDecider wires a decider with the default options.
// When s tells of its pods' changes (PodEvents), the in-flight book
// follows them.
func NewDecider(s Store, heartbeatTTL, inFlightTTL time.Duration, topo placement.Topology) *Decider {
	d := &Decider{
		Store:    s,
		InFlight: NewInFlight(inFlightTTL, time.Now),
		Options: func() placement.Options {
			o := placement.DefaultOptions(time.Now())
			o.HeartbeatTTL = heartbeatTTL
			o.Details = klog.V(4).Enabled() // per-node details are logged at 4
			return o
		},
		Topology: topo,
	}
	if ev, ok := s.(PodEvents); ok {
		d.InFlight.follow(s, ev)
	}
	return d
}

// Filter decides which of the named nodes can serve the pod's rails.
func (d *Decider) Filter(pod *corev1.Pod, names []string) placement.Result {
	rs, err := rails.ForPod(pod, d.Store)
	if err != nil {
		return placement.FailAll(names, err.Error())
	}
	if len(rs) == 0 {
		return placement.Filter(placement.Pod{}, passOnly(names), nil, placement.Options{})
	}
	d.InFlight.Forget(pod.UID)
	p := placement.NewPod(pod, rs)
	v := d.InFlight.view(d.Store)
	pools := d.pools(rs, v)
	opts := d.Options()
	var res placement.Result
	var nodes []placement.NodeState
	var epoch uint64
	ok := false
	if !d.Reference {
		res, nodes, epoch, ok = d.table.filter(d.Store, names, v.slots(),
			func(nodes []placement.NodeState, kept func(int) *placement.VerdictMemo, passed []string) placement.Result {
				return placement.FilterKept(p, nodes, pools, opts, kept, passed)
			})
	}
	if !ok {
		nodes = d.nodes(names, v)
		res = placement.Filter(p, nodes, pools, opts)
	}
	if len(res.Passed) == 1 {
		d.InFlight.Record(pod, p, res.Passed[0])
	}
	d.keepPassed(pod.UID, nodes, res.Passed, epoch)
	return res
}

// keepPassed remembers the passed nodes' states (compacting nodes in
// place), with their rows in the node table of epoch (0: not from the
// table): kube-scheduler asks to prioritize exactly them next, and looking
// thousands of nodes up again would cost as much as deciding about them.
func (d *Decider) keepPassed(uid types.UID, nodes []placement.NodeState, passed []string, epoch uint64) {
	kept := nodes[:0]
	var rows []int
	if epoch != 0 {
		rows = d.table.rows(len(passed))
	}
	for i := range nodes {
		if len(kept) < len(passed) && nodes[i].Name == passed[len(kept)] {
			kept = append(kept, nodes[i])
			if epoch != 0 {
				rows = append(rows, i)
			}
		}
	}
	d.passedMu.Lock()
	d.passed = passedNodes{uid: uid, nodes: kept, epoch: epoch, rows: rows}
	d.passedMu.Unlock()
}

// takePassed returns what the last filter request kept when it was for
// the same pod and passed exactly names, in that order.
func (d *Decider) takePassed(uid types.UID, names []string) (passedNodes, bool) {
	d.passedMu.Lock()
	last := d.passed
	d.passed = passedNodes{}
	d.passedMu.Unlock()
	if last.uid != uid || len(last.nodes) != len(names) {
		return passedNodes{}, false
	}
	for i := range names {
		if last.nodes[i].Name != names[i] {
			return passedNodes{}, false
		}
	}
	return last, true
}

// Prioritize scores the named nodes for the pod.
func (d *Decider) Prioritize(pod *corev1.Pod, names []string) []placement.HostScore {
	rs, err := rails.ForPod(pod, d.Store)
	if err != nil || len(rs) == 0 {
		return placement.Score(placement.Pod{}, passOnly(names), nil, d.Topology)
	}
	p := placement.NewPod(pod, rs)
	v := d.InFlight.view(d.Store)
	last, ok := d.takePassed(pod.UID, names)
	if !ok || pod.UID == "" {
		return placement.Score(p, d.nodes(names, v), d.peers(pod, v), d.Topology)
	}
	peers := d.peers(pod, v)
	if last.epoch == 0 {
		return placement.Score(p, last.nodes, peers, d.Topology)
	}
	scores := d.table.score(last.epoch, last.rows, func(kept func(int) *placement.ScoreMemo, out []placement.HostScore) []placement.HostScore {
		return placement.ScoreKept(p, last.nodes, peers, d.Topology, kept, out)
	})
	// The scores hold nothing of the states: the next filter request
	// fills them again.
	d.table.putBack(last.nodes, last.rows)
	return scores
}

// Recycle takes back what an answer held once the handler has written it
// and nothing reads it any more: a filter Result's Passed and a
// prioritize answer's scores (either nil). The next requests fill them
// again instead of allocating thousands of entries per request.
func (d *Decider) Recycle(passed []string, scores []placement.HostScore) {
	d.table.recycle(passed, scores)
}

func passOnly(names []string) []placement.NodeState {
	out := make([]placement.NodeState, len(names))
	for i, n := range names {
		out[i].Name = n
	}
	return out
}

// PoolsAndPeers returns, from one look at the pods in flight, the room of
// every pool the rails name (the addresses pods in flight will take counted
// in) and the Nodes that hold, or are about to hold, other pods of the
// pod's job.
func (d *Decider) PoolsAndPeers(pod *corev1.Pod, rs []rails.Rail) (map[string]*placement.PoolRoom, []*corev1.Node) {
	v := d.InFlight.view(d.Store)
	var peers []*corev1.Node
	if placement.JobKey(pod) != "" {
		peers = d.peers(pod, v)
	}
	return d.pools(rs, v), peers
}

func (d *Decider) pools(rs []rails.Rail, v view) map[string]*placement.PoolRoom {
	out := map[string]*placement.PoolRoom{}
	for _, r := range rs {
		for _, fam := range [][]string{r.PoolsV4, r.PoolsV6} {
			for _, name := range fam {
				if _, done := out[name]; done {
					continue
				}
				e, ok := d.poolRoom(name)
				if !ok {
					continue
				}
				room := e.room
				room.InFlight = v.poolDemand(name, e.holders)
				out[name] = &room
			}
		}
	}
	return out
}

// poolRoom returns the pool's room without in-flight pods, recomputed only
// when the store reports a new generation of the pool.
func (d *Decider) poolRoom(name string) (poolEntry, bool) {
	gen := d.Store.PoolGeneration(name) // read before the data: a later change bumps it again
	d.poolMu.Lock()
	e, ok := d.poolCache[name]
	d.poolMu.Unlock()
	if ok && e.gen == gen {
		return e, true
	}
	pool := d.Store.Pool(name)
	if pool == nil {
		return poolEntry{}, false
	}
	var holders map[unique.Handle[string]]int32
	room := placement.NewPoolRoom(pool, func(usable func(netip.Addr) bool) (n int64) {
		n, holders = d.Store.PoolAllocations(pool, usable)
		return n
	}, 0)
	e = poolEntry{gen: gen, room: *room, holders: holders}
	d.poolMu.Lock()
	if d.poolCache == nil {
		d.poolCache = map[string]poolEntry{}
	}
	d.poolCache[name] = e
	d.poolMu.Unlock()
	return e, true
}

func (d *Decider) nodes(names []string, v view) []placement.NodeState {
	inflight := v.slots()
	out := make([]placement.NodeState, len(names))
	for i, name := range names {
		out[i].Name = name
	}
	d.Store.FillNodes(out)
	if inflight != nil {
		for i := range out {
			if out[i].Facts != nil {
				out[i].SlotsInFlight = inflight[out[i].Name]
			}
		}
	}
	return out
}

// peers returns the Nodes that hold, or are about to hold, other pods of the
// pod's job.
func (d *Decider) peers(pod *corev1.Pod, v view) []*corev1.Node {
	job := placement.JobKey(pod)
	if job == "" {
		return nil
	}
	names := d.Store.JobNodes(job, pod.UID, nil)
	var seen map[string]bool // the store's names are distinct
	for i := range v {
		// A bound entry's node is among the store's: it shows the pod
		// bound there.
		if fl := &v[i]; !fl.bound && fl.uid != pod.UID && fl.job == job {
			if seen == nil {
				seen = make(map[string]bool, len(names))
				for _, n := range names {
					seen[n] = true
				}
			}
			if !seen[fl.node] {
				seen[fl.node] = true
				names = append(names, fl.node)
			}
		}
	}
	out := make([]*corev1.Node, 0, len(names))
	for _, name := range names {
		if f := d.Store.NodeFacts(name); f != nil {
			out = append(out, f.Node)
		}
	}
	return out
}
