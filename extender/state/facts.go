package state

import (
	"sync"

	corev1 "k8s.io/api/core/v1"

	railnetv1alpha1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/placement"
)

// Facts keeps every node's placement.NodeFacts, recomputed from Node and
// RDMANode events, so a request reads them instead of working them out per
// node. The objects it is given are shared and must not change.
type Facts struct {
	mu    sync.RWMutex
	nodes map[string]*corev1.Node
	rdma  map[string]*railnetv1alpha1.RDMANode
	facts map[string]*placement.NodeFacts
}

// NewFacts returns empty books.
func NewFacts() *Facts {
	return &Facts{nodes: map[string]*corev1.Node{}, rdma: map[string]*railnetv1alpha1.RDMANode{},
		facts: map[string]*placement.NodeFacts{}}
}

// SetNode records the node's current Node.
func (f *Facts) SetNode(n *corev1.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes[n.Name] = n
	f.facts[n.Name] = placement.NewNodeFacts(n, f.rdma[n.Name])
}

// DeleteNode forgets the node's Node.
func (f *Facts) DeleteNode(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.nodes, name)
	delete(f.facts, name)
}

// SetRDMANode records the node's current RDMANode.
func (f *Facts) SetRDMANode(rn *railnetv1alpha1.RDMANode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rdma[rn.Name] = rn
	if n := f.nodes[rn.Name]; n != nil {
		f.facts[rn.Name] = placement.NewNodeFacts(n, rn)
	}
}

// DeleteRDMANode forgets the node's RDMANode.
func (f *Facts) DeleteRDMANode(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rdma, name)
	if n := f.nodes[name]; n != nil {
		f.facts[name] = placement.NewNodeFacts(n, nil)
	}
}

// Fill sets out[i].Facts for every out[i].Name (nil: no such Node).
func (f *Facts) Fill(out []placement.NodeState) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for i := range out {
		out[i].Facts = f.facts[out[i].Name]
	}
}

// Len counts the nodes.
func (f *Facts) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.nodes)
}
