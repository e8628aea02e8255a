package state

import (
	"errors"
	"fmt"
	"testing"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/rails"
	"github.com/railnet/railnet/test/poll"
)

// bookStore is a CacheStore over a real informer indexer of pods, keyed as
// the Pod informer keys them.
func bookStore(t testing.TB) (*CacheStore, toolscache.Indexer) {
	idx := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{})
	return &CacheStore{pods: idx}, idx
}

func bookPod(name, uid string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: name, UID: types.UID(uid)}}
}

// railsTo is a placement.Pod of one slot of gpu1 whose rail takes an
// address of pool.
func railsTo(pool string) placement.Pod {
	return placement.Pod{Rails: []rails.Rail{{PoolsV4: []string{pool}}}, Requests: map[corev1.ResourceName]int64{gpu1: 1}}
}

// The book keeps an entry until its TTL, Forget (Unreserve, or the pod
// filtered again), or the store showing the pod gone, replaced, finished or
// bound elsewhere; a pod bound to its node keeps its address promise but
// no longer its slots; a pod holding an address (its IPAllocation seen) is
// not counted against the pool.
func TestInFlightBook(t *testing.T) {
	now := time.Now()
	s, idx := bookStore(t)
	f := NewInFlight(30*time.Second, func() time.Time { return now })
	pods := map[string]*corev1.Pod{}
	for _, name := range []string{"kept", "bound", "elsewhere", "gone", "replaced", "done", "unreserved", "released"} {
		p := bookPod(name, "uid-"+name)
		pods[name] = p
		if err := idx.Add(p); err != nil {
			t.Fatal(err)
		}
		f.Record(p, railsTo("pool"), "n1")
	}
	update := func(p *corev1.Pod) {
		if err := idx.Update(p); err != nil {
			t.Fatal(err)
		}
	}
	bound := pods["bound"].DeepCopy()
	bound.Spec.NodeName = "n1"
	update(bound)
	elsewhere := pods["elsewhere"].DeepCopy()
	elsewhere.Spec.NodeName = "n2"
	update(elsewhere)
	if err := idx.Delete(pods["gone"]); err != nil {
		t.Fatal(err)
	}
	update(bookPod("replaced", "uid-replaced-2"))
	done := pods["done"].DeepCopy()
	done.Status.Phase = corev1.PodSucceeded
	update(done)
	f.Forget(pods["unreserved"].UID)

	v := f.view(s)
	got := map[string]bool{}
	for _, fl := range v {
		got[string(fl.uid)] = !fl.bound
	}
	want := map[string]bool{"uid-kept": true, "uid-bound": false, "uid-released": true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("entries (uid: still holds slots) %v, want %v", got, want)
	}
	if f.Len() != len(want) {
		t.Fatalf("book holds %d entries after the view, want %d (the others pruned)", f.Len(), len(want))
	}
	if sl := v.slots(); len(sl) != 1 || fmt.Sprint(sl["n1"]) != fmt.Sprint(placement.AmountsOf(map[corev1.ResourceName]int64{gpu1: 2})) {
		t.Fatalf("slots in flight %v, want n1: 2 of %s (kept, released; bound counts as bound)", sl, gpu1)
	}
	holders := map[unique.Handle[string]]int32{unique.Make("uid-released"): 1} // its IPAllocation is in the cache
	if n := v.poolDemand("pool", holders); n != 2 {
		t.Fatalf("pool demand %d, want 2 (kept, bound; released holds its address)", n)
	}
	if n := v.poolDemand("other", holders); n != 0 {
		t.Fatalf("demand on a pool no entry takes: %d", n)
	}

	now = now.Add(30 * time.Second)
	if v := f.view(s); len(v) != 3 {
		t.Fatalf("at the TTL exactly %d entries, want all 3", len(v))
	}
	now = now.Add(time.Nanosecond)
	if v := f.view(s); len(v) != 0 || f.Len() != 0 {
		t.Fatalf("past the TTL: view %d, book %d entries, want none", len(v), f.Len())
	}
}

// Looking the book's pods up in the store allocates nothing per entry:
// each entry keeps its key, and the informer's indexer is read by it.
func TestInFlightViewAllocations(t *testing.T) {
	s, idx := bookStore(t)
	f := NewInFlight(time.Hour, time.Now)
	const n = 64
	for i := range n {
		p := bookPod(fmt.Sprintf("worker-with-a-long-name-%d", i), fmt.Sprintf("uid-%d", i))
		if err := idx.Add(p); err != nil {
			t.Fatal(err)
		}
		f.Record(p, railsTo("pool"), "n1")
	}
	var v view
	allocs := testing.AllocsPerRun(20, func() { v = f.view(s) })
	if len(v) != n {
		t.Fatalf("view of %d entries, want %d", len(v), n)
	}
	if allocs > 1 {
		t.Fatalf("view of %d entries allocates %.0f times, want 1 (its list)", n, allocs)
	}
}

// BenchmarkInFlightView is the book's look at 300 pods in flight (a
// scheduler's worth of bound pods whose IPAllocations are not seen yet),
// over the informer's indexer as the plugin reads it.
func BenchmarkInFlightView(b *testing.B) {
	s, idx := bookStore(b)
	f := NewInFlight(time.Hour, time.Now)
	for i := range 300 {
		p := bookPod(fmt.Sprintf("job-%d-worker-%d", i/8, i%8), fmt.Sprintf("uid-%d", i))
		p.Spec.NodeName = "n1"
		if err := idx.Add(p); err != nil {
			b.Fatal(err)
		}
		f.Record(p, railsTo("pool"), "n1")
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := f.view(s); len(v) != 300 {
			b.Fatalf("view of %d entries", len(v))
		}
	}
}

// followedBook is the book of a decider over a CacheStore whose pods come
// from a real informer, fed by the returned watch.
func followedBook(t *testing.T, now func() time.Time) (*InFlight, *CacheStore, *apiwatch.FakeWatcher) {
	inf, w := fakeInformer(&corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}, &corev1.Pod{})
	s := &CacheStore{slots: NewSlots(), jobs: NewJobs()}
	synced, err := s.watchPods(inf)
	if err != nil {
		t.Fatal(err)
	}
	startInformer(t, inf, synced, "the pods' first list")
	f := NewDecider(s, time.Minute, 30*time.Second, placement.Topology{}).InFlight // follows s
	f.now = now
	return f, s, w
}

// A book following the store's pod events keeps the same entries as one
// that looks every pod up on every view (TestInFlightBook), and its views
// look no pod up. It also learns of pods the store showed before the entry
// was recorded (already bound, already gone), and keeps an entry whose pod
// the store has not shown yet until it shows it.
func TestInFlightBookFollowsPodEvents(t *testing.T) {
	now := time.Now()
	f, s, w := followedBook(t, func() time.Time { return now })
	pods := map[string]*corev1.Pod{}
	for _, name := range []string{"kept", "bound", "elsewhere", "gone", "replaced", "done", "unreserved", "released", "bound-first", "finished-first"} {
		pods[name] = bookPod(name, "uid-"+name)
		w.Add(pods[name])
	}
	pods["unseen"] = bookPod("unseen", "uid-unseen")
	bound := func(name, node string) *corev1.Pod {
		p := pods[name].DeepCopy()
		p.Spec.NodeName = node
		return p
	}
	done := func(name string) *corev1.Pod {
		p := pods[name].DeepCopy()
		p.Status.Phase = corev1.PodSucceeded
		return p
	}
	w.Modify(bound("bound-first", "n1"))
	w.Modify(done("finished-first"))
	poll.Until(t, time.Minute, "the pods in the store", func() error {
		if p := s.Pod(PodKey("train", "finished-first")); p == nil || !placement.Terminated(p) {
			return errors.New("finished-first not finished yet")
		}
		return nil
	})
	for _, p := range pods {
		f.Record(p, railsTo("pool"), "n1")
	}
	w.Modify(bound("bound", "n1"))
	w.Modify(bound("elsewhere", "n2"))
	w.Delete(pods["gone"])
	w.Delete(pods["replaced"])
	w.Add(bookPod("replaced", "uid-replaced-2"))
	w.Modify(done("done"))
	w.Add(pods["unseen"])
	f.Forget(pods["unreserved"].UID)

	want := map[string]bool{"uid-kept": true, "uid-bound": false, "uid-released": true, "uid-bound-first": false, "uid-unseen": true}
	var v view
	poll.Until(t, time.Minute, "the book to follow the events", func() error {
		v = f.view(nil) // a followed book looks nothing up: a nil store would panic
		got := map[string]bool{}
		for _, fl := range v {
			got[string(fl.uid)] = !fl.bound
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("entries (uid: still holds slots) %v, want %v", got, want)
		}
		return nil
	})
	if sl := v.slots(); len(sl) != 1 || fmt.Sprint(sl["n1"]) != fmt.Sprint(placement.AmountsOf(map[corev1.ResourceName]int64{gpu1: 3})) {
		t.Fatalf("slots in flight %v, want n1: 3 of %s (kept, released, unseen)", sl, gpu1)
	}
	if n := v.poolDemand("pool", map[unique.Handle[string]]int32{unique.Make("uid-released"): 1}); n != 4 {
		t.Fatalf("pool demand %d, want 4 (kept, bound, bound-first, unseen; released holds its address)", n)
	}
	w.Modify(bound("unseen", "n1"))
	w.Modify(done("bound"))
	poll.Until(t, time.Minute, "unseen bound, bound finished", func() error {
		got := map[string]bool{}
		for _, fl := range f.view(nil) {
			got[string(fl.uid)] = !fl.bound
		}
		if want := map[string]bool{"uid-kept": true, "uid-released": true, "uid-bound-first": false, "uid-unseen": false}; fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("entries %v, want %v", got, want)
		}
		return nil
	})
	now = now.Add(30*time.Second + time.Nanosecond)
	if v := f.view(nil); len(v) != 0 || f.Len() != 0 {
		t.Fatalf("past the TTL: view %d, book %d entries, want none", len(v), f.Len())
	}
}
