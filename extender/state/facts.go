package state

import (
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/placement"
)

// Facts keeps every node's placement.NodeFacts, recomputed from Node and
// RDMANode events, so a request reads them instead of working them out per
// node. The objects it is given are shared and must not change.
//
// Reads take no lock: a scheduler plugin looks a node up from many
// goroutines for every node of every cycle. Readers see a published map of
// per-node entries whose facts are swapped atomically, so an update of a
// known node (an RDMANode heartbeat) changes no map; a node added or
// dropped marks the map stale, and the next read that misses publishes a
// fresh copy.
type Facts struct {
	published atomic.Pointer[map[string]*placement.NodeRef]
	// stale is set while entries has names published lacks or published
	// still has dropped names.
	stale atomic.Bool

	mu      sync.Mutex
	nodes   map[string]*corev1.Node
	rdma    map[string]*railnetv1.RDMANode
	entries map[string]*placement.NodeRef
}

// NewFacts returns empty books.
func NewFacts() *Facts {
	f := &Facts{nodes: map[string]*corev1.Node{}, rdma: map[string]*railnetv1.RDMANode{},
		entries: map[string]*placement.NodeRef{}}
	f.published.Store(&map[string]*placement.NodeRef{})
	return f
}

// set stores the node's facts (nil: the node is gone); f.mu is held.
func (f *Facts) set(name string, nf *placement.NodeFacts) {
	e := f.entries[name]
	switch {
	case e != nil:
	case nf == nil:
		return
	default:
		e = &placement.NodeRef{}
		f.entries[name] = e
		f.stale.Store(true)
	}
	e.Set(nf)
	if nf == nil {
		delete(f.entries, name)
		f.stale.Store(true)
	}
}

// SetNode records the node's current Node.
func (f *Facts) SetNode(n *corev1.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[n.Name] = n
	f.set(n.Name, placement.NewNodeFacts(n, f.rdma[n.Name]))
}

// DeleteNode forgets the node's Node.
func (f *Facts) DeleteNode(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.nodes, name)
	f.set(name, nil)
}

// SetRDMANode records the node's current RDMANode.
func (f *Facts) SetRDMANode(rn *railnetv1.RDMANode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rdma[rn.Name] = rn
	if n := f.nodes[rn.Name]; n != nil {
		f.set(rn.Name, placement.NewNodeFacts(n, rn))
	}
}

// DeleteRDMANode forgets the node's RDMANode.
func (f *Facts) DeleteRDMANode(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rdma, name)
	if n := f.nodes[name]; n != nil {
		f.set(name, placement.NewNodeFacts(n, nil))
	}
}

// Get returns the node's facts, nil when there is no such Node. It takes
// no lock unless the node was added or dropped since the last publication.
func (f *Facts) Get(name string) *placement.NodeFacts { return f.Ref(name).Facts() }

// Ref returns the node's entry, nil when there is no such Node; like Get
// it takes no lock unless the node was added or dropped since the last
// publication.
func (f *Facts) Ref(name string) *placement.NodeRef {
	if e := (*f.published.Load())[name]; e.Facts() != nil {
		return e
	}
	if !f.stale.Load() {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stale.Load() {
		m := make(map[string]*placement.NodeRef, len(f.entries))
		for k, e := range f.entries {
			m[k] = e
		}
		f.published.Store(&m)
		f.stale.Store(false)
	}
	return f.entries[name]
}

// Fill sets out[i].Facts for every out[i].Name (nil: no such Node).
func (f *Facts) Fill(out []placement.NodeState) {
	for i := range out {
		out[i].Facts = f.Get(out[i].Name)
	}
}

// Len counts the nodes.
func (f *Facts) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.nodes)
}
