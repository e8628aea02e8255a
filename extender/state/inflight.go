package state

import (
	"slices"
	"sync"
	"time"

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
}

type flight struct {
	uid types.UID
	// key is the pod's store key (namespace/name), built once here so
	// the lookup every cycle makes for every entry allocates nothing.
	key      string
	node     string
	job      string
	requests map[corev1.ResourceName]int64
	pools    []string
	at       time.Time
}

// NewInFlight returns an empty tracker whose entries live at most ttl.
func NewInFlight(ttl time.Duration, now func() time.Time) *InFlight {
	return &InFlight{ttl: ttl, now: now, pods: map[types.UID]*flight{}}
}

// Record notes that pod was passed for node only.
func (f *InFlight) Record(pod *corev1.Pod, p placement.Pod, node string) {
	fl := &flight{uid: pod.UID, key: PodKey(pod.Namespace, pod.Name), node: node, job: placement.JobKey(pod), requests: p.Requests, at: f.now()}
	for _, r := range p.Rails {
		fl.pools = append(fl.pools, r.PoolsV4...)
		fl.pools = append(fl.pools, r.PoolsV6...)
	}
	f.mu.Lock()
	f.pods[pod.UID] = fl
	f.mu.Unlock()
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
		p := s.Pod(fl.key)
		if p == nil || p.UID != uid || p.DeletionTimestamp != nil || placement.Terminated(p) {
			delete(f.pods, uid)
			continue
		}
		if p.Spec.NodeName != "" && p.Spec.NodeName != fl.node {
			delete(f.pods, uid) // bound elsewhere: its slots and addresses are counted there
			continue
		}
		out = append(out, viewed{flight: fl, bound: p.Spec.NodeName != ""})
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
// not hold one yet.
func (v view) poolDemand(pool string, holders map[string]bool) int64 {
	var n int64
	for i := range v {
		if fl := &v[i]; slices.Contains(fl.pools, pool) && !holders[string(fl.uid)] {
			n++
		}
	}
	return n
}
