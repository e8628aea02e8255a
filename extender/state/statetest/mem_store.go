package statetest

import (
	"net/netip"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/api/injectgroup"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
)

// MemStore answers state.Store from plain maps and slices. It is not safe
// for concurrent writes; fill it before use.
type MemStore struct {
	Nodes     map[string]*corev1.Node
	RDMANodes map[string]*railnetv1.RDMANode
	Pods      []*corev1.Pod
	Pools     map[string]*spiderv2beta1.SpiderIPPool
	Allocs    []*railnetv1.IPAllocation
	SMCs      []*spiderv2beta1.SpiderMultusConfig
	// NamespaceInject are namespaces' inject annotations, by namespace.
	NamespaceInject map[string]map[string]string
	// Inject is the webhook's configuration; nil: unknown, every inject
	// group is acted on. InjectErr, when set, is why it cannot be read.
	Inject    *injectgroup.Config
	InjectErr error

	// Indexes built by Freeze, as an informer cache's field indexes would be.
	frozen      bool
	podByKey    map[string]*corev1.Pod
	slotsByNode map[string]map[corev1.ResourceName]int64
	facts       map[string]*placement.NodeRef
	slots       map[string]placement.Amounts
	allocByPool map[string][]*railnetv1.IPAllocation
	podsByJob   map[string][]*corev1.Pod
	gen         uint64
}

// Freeze indexes the store for fast lookups; it must not change afterwards.
// Benchmarks use it so the fake's own scans do not dominate.
func (s *MemStore) Freeze() {
	s.frozen = true
	s.podByKey = map[string]*corev1.Pod{}
	s.slotsByNode = map[string]map[corev1.ResourceName]int64{}
	s.allocByPool = map[string][]*railnetv1.IPAllocation{}
	s.podsByJob = map[string][]*corev1.Pod{}
	for _, p := range s.Pods {
		s.podByKey[podKey(p)] = p
		if p.Spec.NodeName != "" {
			if !placement.Terminated(p) {
				use := s.slotsByNode[p.Spec.NodeName]
				if use == nil {
					use = map[corev1.ResourceName]int64{}
					s.slotsByNode[p.Spec.NodeName] = use
				}
				for r := range requested(p) {
					use[r] += placement.Request(p, r)
				}
			}
			if k := placement.JobKey(p); k != "" {
				s.podsByJob[k] = append(s.podsByJob[k], p)
			}
		}
	}
	for _, a := range s.Allocs {
		s.allocByPool[a.Spec.Pool] = append(s.allocByPool[a.Spec.Pool], a)
	}
	s.facts = make(map[string]*placement.NodeRef, len(s.Nodes))
	for name, n := range s.Nodes {
		s.facts[name] = placement.NewNodeRef(placement.NewNodeFacts(n, s.RDMANodes[name]))
	}
	s.slots = make(map[string]placement.Amounts, len(s.slotsByNode))
	for name, m := range s.slotsByNode {
		s.slots[name] = placement.AmountsOf(m)
	}
}

// FillNodes implements state.Store: from the indexes once frozen, else
// worked out anew on every call, so tests may change the store between
// calls.
func (s *MemStore) FillNodes(out []placement.NodeState) {
	for i := range out {
		name := out[i].Name
		if s.frozen {
			out[i].Facts, out[i].SlotsBound = s.facts[name].Facts(), s.slots[name]
			continue
		}
		out[i].Facts, out[i].SlotsBound = nil, nil
		if n := s.Nodes[name]; n != nil {
			out[i].Facts = placement.NewNodeFacts(n, s.RDMANodes[name])
			out[i].SlotsBound = placement.AmountsOf(s.slotsInUse(name))
		}
	}
}

// SlotsSince implements state.SlotsFollower: nothing changes once frozen;
// before, every call says the caller must read every node anew (tests may
// change the store between calls).
func (s *MemStore) SlotsSince(gen uint64, _ func(string, placement.Amounts)) (uint64, bool) {
	return 0, s.frozen
}

// NodeFacts implements state.Store, as FillNodes does.
func (s *MemStore) NodeFacts(name string) *placement.NodeFacts {
	if s.frozen {
		return s.facts[name].Facts()
	}
	if n := s.Nodes[name]; n != nil {
		return placement.NewNodeFacts(n, s.RDMANodes[name])
	}
	return nil
}

// NodeRef implements state.Store: the node's entry once frozen; nil
// before (facts are worked out anew on every NodeFacts call then).
func (s *MemStore) NodeRef(name string) *placement.NodeRef {
	if s.frozen {
		return s.facts[name]
	}
	return nil
}

// Pool implements state.Store.
func (s *MemStore) Pool(n string) *spiderv2beta1.SpiderIPPool { return s.Pools[n] }

// Pod implements state.Store (key is namespace/name).
func (s *MemStore) Pod(key string) *corev1.Pod {
	if s.frozen {
		return s.podByKey[key]
	}
	for _, p := range s.Pods {
		if podKey(p) == key {
			return p
		}
	}
	return nil
}

// podKey is state.PodKey (which this package cannot import: state's
// tests import it).
func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func (s *MemStore) slotsInUse(n string) map[corev1.ResourceName]int64 {
	var out map[corev1.ResourceName]int64
	for _, p := range s.Pods {
		if p.Spec.NodeName != n || placement.Terminated(p) {
			continue
		}
		for r := range requested(p) {
			if out == nil {
				out = map[corev1.ResourceName]int64{}
			}
			out[r] += placement.Request(p, r)
		}
	}
	return out
}

// requested lists the resources the pod's containers name.
func requested(p *corev1.Pod) map[corev1.ResourceName]bool {
	out := map[corev1.ResourceName]bool{}
	for _, cs := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range cs {
			for r := range c.Resources.Limits {
				out[r] = true
			}
			for r := range c.Resources.Requests {
				out[r] = true
			}
		}
	}
	return out
}

// JobNodes implements state.Store.
func (s *MemStore) JobNodes(job string, except types.UID, out []string) []string {
	seen := map[string]bool{}
	pods := s.podsByJob[job]
	if !s.frozen {
		pods = nil
		for _, p := range s.Pods {
			if p.Spec.NodeName != "" && placement.JobKey(p) == job {
				pods = append(pods, p)
			}
		}
	}
	for _, p := range pods {
		if p.UID != except && !placement.Terminated(p) && !seen[p.Spec.NodeName] {
			seen[p.Spec.NodeName] = true
			out = append(out, p.Spec.NodeName)
		}
	}
	return out
}

// PoolAllocations implements state.Store.
func (s *MemStore) PoolAllocations(pool *spiderv2beta1.SpiderIPPool, usable func(netip.Addr) bool) (n int64, holders map[unique.Handle[string]]int32) {
	allocs := s.allocByPool[pool.Name]
	if !s.frozen {
		allocs = nil
		for _, a := range s.Allocs {
			if a.Spec.Pool == pool.Name {
				allocs = append(allocs, a)
			}
		}
	}
	for _, a := range allocs {
		if ip, err := netip.ParseAddr(a.Spec.IP); err == nil && usable(ip) {
			n++
		}
		if holders == nil {
			holders = map[unique.Handle[string]]int32{}
		}
		holders[unique.Make(a.Spec.PodUID)]++
	}
	return n, holders
}

// MultusConfig implements state.Store.
func (s *MemStore) MultusConfig(ns, name string) *spiderv2beta1.SpiderMultusConfig {
	for _, c := range s.SMCs {
		if c.Namespace == ns && c.Name == name {
			return c
		}
	}
	return nil
}

// MultusConfigsInGroup implements state.Store.
func (s *MemStore) MultusConfigsInGroup(key, group string) []*spiderv2beta1.SpiderMultusConfig {
	var out []*spiderv2beta1.SpiderMultusConfig
	for _, c := range s.SMCs {
		if injectgroup.InGroup(c, key, group) {
			out = append(out, c)
		}
	}
	return out
}

// PoolGeneration implements state.Store: constant once frozen, new on every
// call before, so tests may change the store between calls.
func (s *MemStore) PoolGeneration(string) uint64 {
	if s.frozen {
		return 0
	}
	s.gen++
	return s.gen
}

// NamespaceAnnotations implements state.Store.
func (s *MemStore) NamespaceAnnotations(name string) map[string]string {
	return s.NamespaceInject[name]
}

// InjectConfig implements state.Store.
func (s *MemStore) InjectConfig() (injectgroup.Config, error) {
	if s.Inject == nil {
		return injectgroup.Config{Enabled: true}, s.InjectErr
	}
	return *s.Inject, s.InjectErr
}
