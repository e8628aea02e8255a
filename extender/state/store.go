package state

import (
	"net/netip"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/rails"
)

// Store is the read side the decider needs. The extender's implementation
// reads controller-runtime informer caches (CacheStore); the returned
// objects are shared with the cache and must not be modified.
type Store interface {
	rails.Configs
	// FillNodes fills, for every out[i].Name, its Facts (nil: no such Node)
	// and SlotsBound (the summed extended-resource requests of the
	// non-terminated pods bound there). What it fills is shared and must
	// not be modified.
	FillNodes(out []placement.NodeState)
	// NodeFacts returns one node's facts (nil: no such Node), without its
	// slots; safe to call from many goroutines at once, and cheap: a
	// scheduler plugin asks it for every node of every cycle.
	NodeFacts(name string) *placement.NodeFacts
	// NodeRef returns the node's entry, which follows its facts without a
	// lookup by name (a scheduler plugin keeps one per node across
	// cycles); nil when there is no such node, or when the store keeps no
	// entries (callers then ask NodeFacts).
	NodeRef(name string) *placement.NodeRef
	// Pod returns the pod of key (PodKey: namespace/name); nil when there
	// is none.
	Pod(key string) *corev1.Pod
	// JobNodes appends to out the nodes that run bound, non-terminated
	// pods whose JobKey is job, other than the pod except, each once, in
	// no particular order.
	JobNodes(job string, except types.UID, out []string) []string
	Pool(name string) *spiderv2beta1.SpiderIPPool
	// PoolAllocations reads the IPAllocations of a pool (the object Pool
	// returned): how many of their addresses usable, the pool's usable
	// set, accepts, and the pods holding one (allocations held by interned
	// pod UID; nil when none: the caller may keep the map, the store does
	// not change it).
	PoolAllocations(pool *spiderv2beta1.SpiderIPPool, usable func(netip.Addr) bool) (allocated int64, holders map[unique.Handle[string]]int32)
	// PoolGeneration changes whenever the pool or one of its IPAllocations
	// changes (it may change more often), so the decider can reuse a pool's
	// address count until then.
	PoolGeneration(pool string) uint64
}
