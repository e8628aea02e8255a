package state

import (
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/extender/placement"
)

// Slots keeps, per node, the summed requests of extended resources (names
// with a "/", such as the RDMA shares) of the non-terminated pods bound
// there. It is updated from pod events, so a filter request reads a node's
// use in O(1) instead of walking its pods. Maps handed out are never
// changed afterwards (copy on write).
type Slots struct {
	mu     sync.Mutex
	byNode map[string]placement.Amounts
	byPod  map[types.UID]podSlots
	// gen counts the changes of byNode; log holds the latest of them,
	// oldest first, one per generation (log[i].gen == log[0].gen+i), so a
	// reader that keeps every node's use learns what changed (Since).
	gen uint64
	log []slotsChange
}

// slotsChange says that node's use changed at generation gen.
type slotsChange struct {
	gen  uint64
	node string
}

// maxSlotsLog is how many changes Slots remembers at least; a reader
// further behind reads every node again.
const maxSlotsLog = 4096

type podSlots struct {
	node string
	req  map[corev1.ResourceName]int64
}

// NewSlots returns empty books.
func NewSlots() *Slots {
	return &Slots{byNode: map[string]placement.Amounts{}, byPod: map[types.UID]podSlots{}}
}

// InUse returns the node's use; the caller must not modify it.
func (s *Slots) InUse(node string) placement.Amounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byNode[node]
}

// Fill sets out[i].SlotsBound for every known node of out.
func (s *Slots) Fill(out []placement.NodeState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range out {
		if out[i].Facts != nil {
			out[i].SlotsBound = s.byNode[out[i].Name]
		}
	}
}

// Since calls changed, under the books' lock, with every node whose use
// changed after generation gen and its use now, and returns the current
// generation. ok is false when the books no longer remember every change
// since gen (changed is not called then): the caller must read every node
// anew. A gen at or past the current generation reports nothing.
func (s *Slots) Since(gen uint64, changed func(node string, use placement.Amounts)) (now uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen >= s.gen {
		return s.gen, true
	}
	if len(s.log) == 0 || s.log[0].gen > gen+1 {
		return s.gen, false
	}
	for _, c := range s.log[gen+1-s.log[0].gen:] {
		changed(c.node, s.byNode[c.node])
	}
	return s.gen, true
}

// Set records the pod's current state (bound or not, running or done).
func (s *Slots) Set(pod *corev1.Pod) {
	var now podSlots
	if pod.Spec.NodeName != "" && !placement.Terminated(pod) {
		now = podSlots{node: pod.Spec.NodeName, req: extendedRequests(pod)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byPod[pod.UID]; ok {
		s.apply(old, -1)
		delete(s.byPod, pod.UID)
	}
	if len(now.req) > 0 {
		s.byPod[pod.UID] = now
		s.apply(now, 1)
	}
}

// Delete forgets the pod.
func (s *Slots) Delete(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byPod[uid]; ok {
		s.apply(old, -1)
		delete(s.byPod, uid)
	}
}

func (s *Slots) apply(p podSlots, sign int64) {
	s.gen++
	if len(s.log) >= 2*maxSlotsLog {
		s.log = append(s.log[:0], s.log[len(s.log)-maxSlotsLog:]...)
	}
	s.log = append(s.log, slotsChange{gen: s.gen, node: p.node})
	next := make(map[corev1.ResourceName]int64, len(s.byNode[p.node])+len(p.req))
	for _, a := range s.byNode[p.node] {
		next[a.Resource] = a.Value
	}
	for r, q := range p.req {
		if next[r] += sign * q; next[r] <= 0 {
			delete(next, r)
		}
	}
	if len(next) == 0 {
		delete(s.byNode, p.node)
		return
	}
	s.byNode[p.node] = placement.AmountsOf(next)
}

// extendedRequests are the pod's effective requests (placement.Request's
// rule, worked out once for the pod) of the extended resources (names with
// a "/") its containers name; nil when there are none.
func extendedRequests(pod *corev1.Pod) map[corev1.ResourceName]int64 {
	var out map[corev1.ResourceName]int64
	var reqs corev1.ResourceList
	seen := func(list corev1.ResourceList) {
		for r := range list {
			if _, done := out[r]; done || !strings.Contains(string(r), "/") {
				continue
			}
			if reqs == nil {
				reqs = placement.Requests(pod)
			}
			if q := reqs[r]; q.Value() > 0 {
				if out == nil {
					out = map[corev1.ResourceName]int64{}
				}
				out[r] = q.Value()
			}
		}
	}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			seen(cs[i].Resources.Requests)
			seen(cs[i].Resources.Limits)
		}
	}
	return out
}
