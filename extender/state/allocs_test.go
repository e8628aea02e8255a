package state

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/test/poll"
)

// relistWatch is an IPAllocation informer's source whose list the test
// replaces and whose watch it can expire, so the informer lists again and
// resyncs its store with the new list.
type relistWatch struct {
	mu      sync.Mutex
	list    railnetv1.IPAllocationList
	watches chan *apiwatch.FakeWatcher
}

func (r *relistWatch) informer() toolscache.SharedIndexInformer {
	return toolscache.NewSharedIndexInformer(listWatch{&toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.list.DeepCopy(), nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (apiwatch.Interface, error) {
			w := apiwatch.NewFake()
			r.watches <- w
			return w, nil
		},
	}}, &railnetv1.IPAllocation{}, 0, toolscache.Indexers{})
}

func ipAllocation(name, rv, pool, ip, uid string) *railnetv1.IPAllocation {
	return &railnetv1.IPAllocation{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv},
		Spec: railnetv1.IPAllocationSpec{Pool: pool, IP: ip, PodUID: uid, PodName: "w", Interface: "net1", Node: "n1"}}
}

// The store's allocations follow the IPAllocation informer's events —
// added, changed, moved to another pool (which the API refuses, but a
// store must not keep a record under its old pool), deleted, and
// resynced by a new list after the watch expired —, its informer keeps
// allocations instead of IPAllocations, and every event bumps the
// generations of the pools it touches.
func TestAllocationsFollowEvents(t *testing.T) {
	src := &relistWatch{watches: make(chan *apiwatch.FakeWatcher, 8)}
	src.list = railnetv1.IPAllocationList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []railnetv1.IPAllocation{
		*ipAllocation("a1", "1", "p1", "10.0.0.1", "u1"), *ipAllocation("a2", "1", "p1", "10.0.0.2", "u2")}}
	inf := src.informer()
	if err := inf.SetTransform(compactAllocation); err != nil {
		t.Fatal(err)
	}
	s := &CacheStore{gens: map[string]uint64{}}
	synced, err := s.watchAllocations(inf)
	if err != nil {
		t.Fatal(err)
	}
	startInformer(t, inf, synced, "the first list in the store")
	w := <-src.watches

	type want map[string][]string // pool → ip/uid, sorted
	for _, step := range []struct {
		name   string
		do     func()
		want   want
		bumped []string // pools whose generation must have moved
	}{
		{"first list", func() {}, want{"p1": {"10.0.0.1/u1", "10.0.0.2/u2"}}, nil},
		{"add", func() { w.Add(ipAllocation("a3", "2", "p2", "10.1.0.1", "u1")) },
			want{"p1": {"10.0.0.1/u1", "10.0.0.2/u2"}, "p2": {"10.1.0.1/u1"}}, []string{"p2"}},
		{"update", func() {
			a := ipAllocation("a1", "3", "p1", "10.0.0.1", "u1")
			a.Spec.ContainerID = "c2"
			w.Modify(a)
		}, want{"p1": {"10.0.0.1/u1", "10.0.0.2/u2"}, "p2": {"10.1.0.1/u1"}}, []string{"p1"}},
		{"pool changes", func() { w.Modify(ipAllocation("a2", "4", "p2", "10.0.0.2", "u2")) },
			want{"p1": {"10.0.0.1/u1"}, "p2": {"10.0.0.2/u2", "10.1.0.1/u1"}}, []string{"p1", "p2"}},
		{"delete", func() { w.Delete(ipAllocation("a3", "5", "p2", "10.1.0.1", "u1")) },
			want{"p1": {"10.0.0.1/u1"}, "p2": {"10.0.0.2/u2"}}, []string{"p2"}},
		{"a second address of a pod, one that does not parse", func() {
			w.Add(ipAllocation("a5", "6", "p2", "10.0.0.5", "u2"))
			w.Add(ipAllocation("a6", "7", "p2", "not-an-ip", "u6"))
		}, want{"p1": {"10.0.0.1/u1"}, "p2": {"10.0.0.2/u2", "10.0.0.5/u2", "not-an-ip/u6"}}, []string{"p2"}},
		{"the pod's first address goes", func() { w.Delete(ipAllocation("a2", "8", "p2", "10.0.0.2", "u2")) },
			want{"p1": {"10.0.0.1/u1"}, "p2": {"10.0.0.5/u2", "not-an-ip/u6"}}, []string{"p2"}},
		{"resync from a new list", func() {
			src.mu.Lock()
			src.list = railnetv1.IPAllocationList{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Items: []railnetv1.IPAllocation{
				*ipAllocation("a1", "1", "p1", "10.0.0.1", "u1"), // unchanged
				*ipAllocation("a4", "8", "p1", "10.0.0.4", "u4"), // new; a2 gone
			}}
			src.mu.Unlock()
			w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old"})
		}, want{"p1": {"10.0.0.1/u1", "10.0.0.4/u4"}}, []string{"p1", "p2"}},
	} {
		before := map[string]uint64{"p1": s.PoolGeneration("p1"), "p2": s.PoolGeneration("p2")}
		step.do()
		poll.Until(t, time.Minute, step.name, func() error {
			for _, pool := range []string{"p1", "p2"} {
				if got := bookOf(s, pool); !slices.Equal(got, step.want[pool]) {
					return fmt.Errorf("%s holds %v, want %v", pool, got, step.want[pool])
				}
				// What the decider reads: the addresses usable accepts
				// (here all that parse) and each pod's allocations.
				// One spec version throughout: the count is the one kept
				// with the events since the first read.
				n, holders := s.allocs.read(pool, "uid/1", func(a netip.Addr) bool { return a.IsValid() })
				wantN, wantHolders := int64(0), map[unique.Handle[string]]int32{}
				for _, a := range step.want[pool] {
					ip, uid, _ := strings.Cut(a, "/")
					if _, err := netip.ParseAddr(ip); err == nil {
						wantN++
					}
					wantHolders[unique.Make(uid)]++
				}
				if n != wantN || !maps.Equal(holders, wantHolders) {
					return fmt.Errorf("%s: %d usable addresses and holders %v, want %d and %v", pool, n, holders, wantN, wantHolders)
				}
			}
			for _, pool := range step.bumped {
				if s.PoolGeneration(pool) == before[pool] {
					return fmt.Errorf("generation of %s still %d", pool, before[pool])
				}
			}
			return nil
		})
		for _, obj := range inf.GetStore().List() {
			if _, ok := obj.(*allocation); !ok {
				t.Fatalf("%s: the informer holds a %T", step.name, obj)
			}
		}
	}
}

// bookOf lists what the store's book holds of pool, as ip/uid, sorted.
func bookOf(s *CacheStore, pool string) []string {
	s.allocs.mu.Lock()
	defer s.allocs.mu.Unlock()
	var out []string
	if p := s.allocs.pools[unique.Make(pool)]; p != nil {
		for _, a := range p.allocs {
			out = append(out, a.ip()+"/"+a.podUID.Value())
		}
	}
	slices.Sort(out)
	return out
}
