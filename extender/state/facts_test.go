package state

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/extender/placement"
)

func factsNode(name, rv string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}}
}

// Get sees every add, update and removal, whether or not a reader has
// published the node table since.
func TestFactsGet(t *testing.T) {
	f := NewFacts()
	rv := func(name string) string {
		nf := f.Get(name)
		if nf == nil {
			return "-"
		}
		s := nf.Node.ResourceVersion
		if nf.RDMANode != nil {
			s += "+rdma"
		}
		return s
	}
	steps := []struct {
		do   func()
		name string
		want string
	}{
		{func() {}, "n1", "-"},
		{func() { f.SetNode(factsNode("n1", "1")) }, "n1", "1"},
		{func() { f.SetNode(factsNode("n1", "2")) }, "n1", "2"},
		{func() { f.SetRDMANode(&railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}) }, "n1", "2+rdma"},
		{func() { f.SetRDMANode(&railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}) }, "n2", "-"},
		{func() { f.SetNode(factsNode("n2", "5")) }, "n2", "5+rdma"},
		{func() { f.DeleteRDMANode("n1") }, "n1", "2"},
		{func() { f.DeleteNode("n1") }, "n1", "-"},
		{func() {}, "n2", "5+rdma"},
		{func() { f.SetNode(factsNode("n1", "3")) }, "n1", "3"},
		{func() { f.DeleteNode("n1"); f.SetNode(factsNode("n1", "4")) }, "n1", "4"},
		{func() { f.DeleteNode("n2") }, "n2", "-"},
		{func() {}, "n1", "4"},
	}
	for i, s := range steps {
		s.do()
		if got := rv(s.name); got != s.want {
			t.Fatalf("step %d: %s is %s, want %s", i, s.name, got, s.want)
		}
	}
	if f.Len() != 1 {
		t.Fatalf("Len %d, want 1", f.Len())
	}
	out := []placement.NodeState{{Name: "n1"}, {Name: "n2"}}
	f.Fill(out)
	if out[0].Facts == nil || out[1].Facts != nil {
		t.Fatalf("Fill: %+v", out)
	}
}

// A node's entry follows its Node and RDMANode; once the node is gone it
// holds nil for good, and the node added back has a new entry.
func TestFactsRef(t *testing.T) {
	f := NewFacts()
	if f.Ref("n1") != nil {
		t.Fatal("entry of an unknown node")
	}
	f.SetRDMANode(&railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	if f.Ref("n1") != nil {
		t.Fatal("entry of a node with an RDMANode but no Node")
	}
	f.SetNode(factsNode("n1", "1"))
	ref := f.Ref("n1")
	if nf := ref.Facts(); nf == nil || nf.Node.ResourceVersion != "1" || nf.RDMANode == nil {
		t.Fatalf("entry of n1: %+v", nf)
	}
	f.SetNode(factsNode("n1", "2"))
	f.DeleteRDMANode("n1")
	if nf := ref.Facts(); nf.Node.ResourceVersion != "2" || nf.RDMANode != nil || f.Ref("n1") != ref {
		t.Fatalf("after an update: %+v, same entry %t", nf, f.Ref("n1") == ref)
	}
	f.DeleteNode("n1")
	if ref.Facts() != nil || f.Ref("n1") != nil {
		t.Fatalf("gone: entry holds %+v, Ref %v", ref.Facts(), f.Ref("n1"))
	}
	f.SetNode(factsNode("n1", "3"))
	if again := f.Ref("n1"); again == ref || ref.Facts() != nil || again.Facts().Node.ResourceVersion != "3" {
		t.Fatalf("back: old entry %+v, new entry is the old %t", ref.Facts(), again == ref)
	}
}

// Readers on many goroutines while nodes come, change and go (run with
// -race): a reader sees a node's facts or nil, never another node's.
func TestFactsGetConcurrently(t *testing.T) {
	f := NewFacts()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				name := fmt.Sprintf("n%d", (i+r)%50)
				if nf := f.Get(name); nf != nil && nf.Node.Name != name {
					t.Errorf("asked %s, got %s", name, nf.Node.Name)
					return
				}
			}
		})
	}
	for round := range 20 {
		for i := range 50 {
			name := fmt.Sprintf("n%d", i)
			f.SetNode(factsNode(name, fmt.Sprint(round)))
			if i%3 == round%3 {
				f.DeleteNode(name)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	for i := range 50 {
		name := fmt.Sprintf("n%d", i)
		if got, gone := f.Get(name), i%3 == 19%3; (got == nil) != gone {
			t.Errorf("%s after the last round: %v, want gone %t", name, got, gone)
		}
	}
}

// BenchmarkFactsGet looks nodes up from parallel goroutines, as a
// scheduler plugin's Filter does, through the lock-free table and through
// a map behind a sync.RWMutex (the book's former design), interleaved.
func BenchmarkFactsGet(b *testing.B) {
	const n = 5000
	f := NewFacts()
	locked := struct {
		sync.RWMutex
		m map[string]*placement.NodeFacts
	}{m: map[string]*placement.NodeFacts{}}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("gpu-node-%05d", (i*7919)%n)
		f.SetNode(factsNode(names[i], "1"))
		locked.m[names[i]] = f.Get(names[i])
	}
	var seed atomic.Int64
	b.Run("lock-free", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := int(seed.Add(997)); pb.Next(); i++ {
				if f.Get(names[i%n]) == nil {
					b.Error("missing")
				}
			}
		})
	})
	b.Run("rwmutex", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := int(seed.Add(997)); pb.Next(); i++ {
				locked.RLock()
				nf := locked.m[names[i%n]]
				locked.RUnlock()
				if nf == nil {
					b.Error("missing")
				}
			}
		})
	})
}
