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
}

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
