package state

import (
	"slices"
	"sync"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/extender/placement"
)

// InFlight remembers pods the extender passed for exactly one node (so the
// scheduler can only bind them there) until the cache shows them bound —
// for RDMA slots — or shows their IPAllocations — for pool addresses. An
// entry expires after a TTL whatever happens, so a pod the scheduler gave
// up on stops holding room.
type InFlight struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	pods map[types.UID]*flight
	// store, when set, tells the book of every change of its pods
	// (PodEvents): entries then carry their pods' standing, and a view
	// looks no pod up. Otherwise every view looks up every entry's pod.
	store Store
}

// PodEvents is a store that tells followers of every change of its pods,
// after it shows the change (CacheStore).
type PodEvents interface {
	FollowPods(PodFollower)
}

// PodFollower is told of the changes of a store's pods.
type PodFollower interface {
	PodChanged(*corev1.Pod)
	PodDeleted(*corev1.Pod)
}

type flight struct {
	uid types.UID
	// uidH is uid interned, as the pools' holders are keyed.
	uidH unique.Handle[string]
	// key is the pod's store key (namespace/name), built once here so
	// the lookup every cycle makes for every entry allocates nothing.
	key      string
	node     string
	job      string
	requests map[corev1.ResourceName]int64
	pools    []string
	at       time.Time
	// bound: the store showed the pod bound to node (kept only when
	// the book follows the store's events).
	bound bool
}

// NewInFlight returns an empty tracker whose entries live at most ttl.
func NewInFlight(ttl time.Duration, now func() time.Time) *InFlight {
	return &InFlight{ttl: ttl, now: now, pods: map[types.UID]*flight{}}
}

// Record notes that pod was passed for node only.
func (f *InFlight) Record(pod *corev1.Pod, p placement.Pod, node string) {
	fl := &flight{uid: pod.UID, uidH: unique.Make(string(pod.UID)), key: PodKey(pod.Namespace, pod.Name), node: node, job: placement.JobKey(pod), requests: p.Requests, at: f.now()}
	for _, r := range p.Rails {
		fl.pools = append(fl.pools, r.PoolsV4...)
		fl.pools = append(fl.pools, r.PoolsV6...)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.store != nil {
		// The store's events come after it shows a change: the pod as
		// it shows it now, and every later change, reach the entry.
		// Until the store shows the pod at all, the entry waits for it
		// (or its TTL).
		if p := f.store.Pod(fl.key); p != nil {
			drop, bound := standing(fl, p)
			if drop {
				delete(f.pods, pod.UID)
				return
			}
			fl.bound = bound
		}
	}
	f.pods[pod.UID] = fl
}

// follow makes the book learn its pods' standing from s's events.
func (f *InFlight) follow(s Store, ev PodEvents) {
	f.mu.Lock()
	f.store = s
	f.mu.Unlock()
	ev.FollowPods(f)
}

// PodChanged implements PodFollower: the entry of a pod gone, replaced,
// finished or bound elsewhere goes; a pod bound to its node keeps its
// address promise but no longer its slots. Binding is for good, so an
// entry once bound stays bound.
func (f *InFlight) PodChanged(p *corev1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.pods[p.UID]
	if !ok {
		return
	}
	switch drop, bound := standing(fl, p); {
	case drop:
		delete(f.pods, p.UID)
	case bound && !fl.bound:
		b := *fl // views share entries: a changed entry is a new one
		b.bound = true
		f.pods[p.UID] = &b
	}
}

// PodDeleted implements PodFollower.
func (f *InFlight) PodDeleted(p *corev1.Pod) { f.Forget(p.UID) }

// standing says what the store's pod p means for entry fl: drop it (the
// pod is gone, replaced, finished, being deleted, or bound elsewhere,
// where its slots and addresses are counted), or keep it, bound to its
// node or not yet bound.
func standing(fl *flight, p *corev1.Pod) (drop, bound bool) {
	if p == nil || p.UID != fl.uid || p.DeletionTimestamp != nil || placement.Terminated(p) {
		return true, false
	}
	if p.Spec.NodeName != "" && p.Spec.NodeName != fl.node {
		return true, false
	}
	return false, p.Spec.NodeName != ""
}

// PodKey is the key Store.Pod finds a pod by: namespace/name, as
// informers key pods.
func PodKey(namespace, name string) string {
	return types.NamespacedName{Namespace: namespace, Name: name}.String()
}

// Forget drops the pod's entry: it is being filtered again.
func (f *InFlight) Forget(uid types.UID) {
	f.mu.Lock()
	delete(f.pods, uid)
	f.mu.Unlock()
}

// Len counts the entries, for metrics and tests.
func (f *InFlight) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pods)
}

// view is a consistent list of the live entries, pruned of expired ones and
// of pods the store no longer has. Entries are never changed once recorded
// (Record replaces them), so it shares them.
type view []viewed

// viewed is an entry as a view sees it.
type viewed struct {
	*flight
	// bound: the store shows the pod bound to the entry's node, so its
	// slots are counted there (its addresses are not until its
	// IPAllocations are seen).
	bound bool
}

func (f *InFlight) view(s Store) view {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pods) == 0 {
		return nil
	}
	out := make(view, 0, len(f.pods))
	for uid, fl := range f.pods {
		if now.Sub(fl.at) > f.ttl {
			delete(f.pods, uid)
			continue
		}
		if f.store != nil {
			out = append(out, viewed{flight: fl, bound: fl.bound})
			continue
		}
		drop, bound := standing(fl, s.Pod(fl.key))
		if drop {
			delete(f.pods, uid)
			continue
		}
		out = append(out, viewed{flight: fl, bound: bound})
	}
	return out
}

// slots sums the in-flight requests per node; nil when there are none.
func (v view) slots() map[string]placement.Amounts {
	var sums map[string]map[corev1.ResourceName]int64
	for i := range v {
		fl := &v[i]
		if fl.bound || len(fl.requests) == 0 { // bound: the store's SlotsInUse counts it
			continue
		}
		if sums == nil {
			sums = map[string]map[corev1.ResourceName]int64{}
		}
		if sums[fl.node] == nil {
			sums[fl.node] = map[corev1.ResourceName]int64{}
		}
		for r, q := range fl.requests {
			sums[fl.node][r] += q
		}
	}
	if sums == nil {
		return nil
	}
	out := make(map[string]placement.Amounts, len(sums))
	for node, m := range sums {
		out[node] = placement.AmountsOf(m)
	}
	return out
}

// poolDemand counts in-flight pods that will take an address of pool and do
// not hold one yet; holders counts the pool's allocations by pod UID.
func (v view) poolDemand(pool string, holders map[unique.Handle[string]]int32) int64 {
	var n int64
	for i := range v {
		if fl := &v[i]; slices.Contains(fl.pools, pool) && holders[fl.uidH] == 0 {
			n++
		}
	}
	return n
}
